"""Live NCBI E-utilities: run with ``pytest -m network`` and NCBI_EMAIL set (NCBI_API_KEY optional).

Deselected by default (``addopts = -m 'not network'``). Only stable facts are asserted: a 2011
Nature paper's PMID and title, never counts that grow as PubMed does.
"""

from __future__ import annotations

import os

import pytest

from evtrack.entrez import NcbiSource
from evtrack.records import CitationQuery
from evtrack.sources import LINK_CITEDIN

pytestmark = pytest.mark.network

AUTRY_2011 = "21677641"  # Autry AE et al., Nature 2011;475(7354):91-95


@pytest.fixture(scope="module")
def source() -> NcbiSource:
    email = os.environ.get("NCBI_EMAIL")
    if not email:
        pytest.skip("set NCBI_EMAIL to run live NCBI tests")
    return NcbiSource(email, api_key=os.environ.get("NCBI_API_KEY") or None)


def test_esearch_finds_the_paper(source: NcbiSource) -> None:
    result = source.search("Autry AE[au] AND 2011[dp] AND Nature[ta]")
    assert AUTRY_2011 in result.pmids
    assert result.count == len(result.pmids)


def test_ecitmatch_resolves_the_citation(source: NcbiSource) -> None:
    [match] = source.match_citations(
        [CitationQuery("autry2011", "Nature", 2011, "475", "91", "Autry AE")])
    assert (match.key, match.pmid, match.status) == ("autry2011", AUTRY_2011, "found")


def test_efetch_returns_the_record(source: NcbiSource) -> None:
    [record] = list(source.fetch([AUTRY_2011]))
    assert record.pmid == AUTRY_2011
    assert record.title.startswith("NMDA receptor blockade at rest")


def test_elink_citedin_is_not_empty(source: NcbiSource) -> None:
    links = source.links([AUTRY_2011], LINK_CITEDIN)
    assert list(links) == [AUTRY_2011] and links[AUTRY_2011]
