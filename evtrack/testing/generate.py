"""Deterministic, realistic PubMed records at any size, for benchmarks and tests.

``generate_records(n, seed=s)`` yields the same ``n`` records for the same ``s``, one at a time
(memory stays flat however large ``n``); :func:`write_corpus` writes them as EFetch XML through
:func:`evtrack.pubmed_xml.write_records`, so reading the file back gives equal records.

The *shape* follows PubMed: author counts (median about five, a long tail, rare consortia of
hundreds), MEDLINE-indexed records with about ten MeSH headings (qualifiers, major topics, check
tags) and unindexed ones without, publication types, structured and plain abstracts, keywords,
comments and errata, retractions and their notices, reference lists on about a third of the
records, dates weighted towards recent years, some seasons and MedlineDates. The *text* is ours:
sentences drawn from a small list of common words, a Zipf-weighted vocabulary of made-up words,
and the domain terms of the bundled claims (ketamine, NMDA, BDNF, eEF2 …) in a minority of
records, so that the claims' real queries have realistic, non-trivial hit counts.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from evtrack.pubmed_xml import write_records
from evtrack.records import (
    AbstractSection,
    Author,
    Correction,
    MeshHeading,
    MeshQualifier,
    PaperRecord,
    PubDate,
    PublicationType,
    Reference,
)

__all__ = ["GENERATOR_VERSION", "generate_records", "write_corpus"]

#: Bumped whenever the output for a given seed changes (benchmarks cache files by it).
GENERATOR_VERSION = 1


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_FUNCTION = _words("""
    the of and in to a with for was were is that by from on as at or be are this an
    which these we not between after than both during our its their whether but all two
    more most
""")
_COMMON = _words("""
    patients study cells expression increased treatment effect group results levels
    protein activity associated analysis clinical significantly compared higher lower
    response risk disease function model data role using observed showed reduced induced
    effects factor mechanism signaling pathway receptor brain neurons mice rats human
    control dose acute chronic therapy outcome trial cohort samples method measured
    suggest evidence potential novel mediated regulation inhibition binding release
    synaptic cortex behavior stress gene genetic mutation variant serum plasma tissue
    infection cancer tumor survival age women men children adults years months weeks
    days hours baseline follow-up change severity symptoms score scale assessment
    prevalence incidence population sample size mechanisms pathways molecular cellular
    neural memory learning plasticity inflammation oxidative metabolism mitochondrial
    transcription translation phosphorylation kinase
""")
_DOMAIN: dict[str, tuple[str, ...]] = {
    # Subtopics of the bundled claims. A record in the domain draws terms from one or two.
    "nmda": ("ketamine", "NMDA receptor", "NMDA", "N-methyl-D-aspartate", "NMDAR",
             "NMDARs", "GluN2B", "GRIN2B", "NR2B", "antagonist", "antagonism", "blockade",
             "esketamine", "arketamine", "R-ketamine", "norketamine", "hydroxynorketamine",
             "ketamine metabolites", "enantiomers", "phencyclidine", "selective", "blocks"),
    "clinical": ("depression", "depressive", "antidepressant", "antidepressants",
                 "major depressive disorder", "treatment-resistant", "depressed patients",
                 "infusion", "intravenous", "single dose", "randomized", "placebo-controlled",
                 "trial", "meta-analysis", "remission", "suicidal ideation", "ketamine"),
    "bdnf": ("BDNF", "brain-derived neurotrophic factor", "TrkB", "Val66Met", "rs6265",
             "knockout", "deletion", "heterozygous", "polymorphism", "required",
             "neutralizing", "protein synthesis", "release", "ketamine"),
    "eef2": ("eEF2", "eEF2K", "eEF2 kinase", "elongation factor 2", "elongation factor 2 kinase",
             "CaMKIII", "translation", "protein synthesis", "inhibitor", "inhibition",
             "NH125", "A-484954", "spontaneous neurotransmission", "at rest"),
    "glutamate": ("glutamate", "glutamatergic", "AMPA", "NBQX", "mTOR", "rapamycin",
                  "synaptogenesis", "synapse formation", "efflux", "glutamate cycling",
                  "glutamate-glutamine cycling", "neurotransmission", "burst", "surge",
                  "glutamate transporter", "GLT-1", "EAAT2", "ampakine", "AMPA potentiator"),
    "interneurons": ("interneurons", "GABAergic", "GABA neurons", "parvalbumin",
                     "somatostatin", "fast-spiking", "pyramidal", "disinhibition",
                     "disinhibited", "loss of inhibition", "excitability", "MK-801",
                     "dizocilpine", "NMDA receptor hypofunction", "habenula", "calcium signals"),
    "other-nmda": ("memantine", "lanicemine", "AZD6765", "traxoprodil", "rapastinel",
                   "NMDA antagonists", "NMDA receptor antagonists", "NMDA receptor blockade",
                   "opioid", "naltrexone", "opiate", "anxiety", "seizures", "psychotomimetic",
                   "dissociative", "cognitive"),
}
_DOMAIN_MESH: dict[str, tuple[str, ...]] = {
    "nmda": ("Ketamine", "Receptors, N-Methyl-D-Aspartate", "Excitatory Amino Acid Antagonists"),
    "clinical": ("Antidepressive Agents", "Depression", "Depressive Disorder",
                 "Depressive Disorder, Major", "Depressive Disorder, Treatment-Resistant",
                 "Ketamine", "Infusions, Intravenous"),
    "bdnf": ("Brain-Derived Neurotrophic Factor", "Receptor, trkB", "Mice, Knockout",
             "Polymorphism, Single Nucleotide", "Gene Deletion", "Antibodies, Neutralizing"),
    "eef2": ("Elongation Factor 2 Kinase", "Peptide Elongation Factor 2", "Protein Biosynthesis",
             "Protein Kinase Inhibitors"),
    "glutamate": ("Glutamic Acid", "Receptors, AMPA", "TOR Serine-Threonine Kinases",
                  "Prefrontal Cortex", "Synapses"),
    "interneurons": ("Interneurons", "GABAergic Neurons", "Pyramidal Cells", "Prefrontal Cortex",
                     "Parvalbumins"),
    "other-nmda": ("Memantine", "Naltrexone", "Analgesics, Opioid", "Anxiety"),
}
_CHECK_TAGS = ("Humans", "Animals", "Male", "Female", "Mice", "Rats", "Adult", "Middle Aged",
               "Aged", "Young Adult", "Adolescent", "Child", "Mice, Inbred C57BL",
               "Rats, Sprague-Dawley")
_GENERIC_MESH = ("Cells, Cultured", "Disease Models, Animal", "Signal Transduction",
                 "Time Factors", "Treatment Outcome", "Retrospective Studies", "Cohort Studies",
                 "Prospective Studies", "Cross-Sectional Studies", "Risk Factors",
                 "Double-Blind Method", "Randomized Controlled Trials as Topic", "Cell Line",
                 "Gene Expression Regulation", "Dose-Response Relationship, Drug", "Brain",
                 "Neurons", "Behavior, Animal", "Case-Control Studies", "Protein Binding")
_QUALIFIERS = ("drug effects", "metabolism", "pharmacology", "therapeutic use", "genetics",
               "physiology", "administration & dosage", "adverse effects", "drug therapy",
               "psychology", "physiopathology", "pathology", "chemistry", "blood")
_SECTIONS = (("BACKGROUND", "BACKGROUND"), ("OBJECTIVE", "OBJECTIVE"), ("METHODS", "METHODS"),
             ("RESULTS", "RESULTS"), ("CONCLUSIONS", "CONCLUSIONS"))
_LANGUAGES = (("eng", 930), ("ger", 15), ("fre", 15), ("spa", 10), ("chi", 15), ("jpn", 10),
              ("rus", 5))
_STATUSES = (("MEDLINE", 82), ("PubMed-not-MEDLINE", 10), ("In-Data-Review", 4),
             ("In-Process", 2), ("Publisher", 2))
_FUNDING = ("Research Support, Non-U.S. Gov't", "Research Support, N.I.H., Extramural",
            "Research Support, U.S. Gov't, Non-P.H.S.")
# (publication type, per-mille chance) besides "Journal Article", which every record has.
_DESIGN_TYPES = (("Review", 90), ("Randomized Controlled Trial", 20), ("Clinical Trial", 15),
                 ("Meta-Analysis", 8), ("Systematic Review", 8), ("Case Reports", 30),
                 ("Observational Study", 15), ("Comparative Study", 40), ("Letter", 15),
                 ("Editorial", 10), ("Comment", 15), ("Multicenter Study", 10))
_COMMENT_TYPES = ("CommentIn", "CommentOn", "ErratumIn", "UpdateOf", "UpdateIn",
                  "ExpressionOfConcernIn")
_ACCENTED = "áàâäãåçéèêëíìîïñóòôöõøúùûüýÿ"
_SEASONS = ("Spring", "Summer", "Fall", "Winter")
_MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_LAST_YEAR = 2025


def generate_records(n: int, *, seed: int = 0, first_pmid: int = 20_000_001
                     ) -> Iterator[PaperRecord]:
    """``n`` records with increasing PMIDs from ``first_pmid``, the same for the same seed.

    >>> [r.pmid for r in generate_records(2, seed=1)]
    ['20000001', '20000003']
    """
    gen = _Generator(seed)
    pmid = first_pmid
    for _ in range(n):
        yield gen.record(pmid)
        pmid += 1 + int(gen.rng.random() < 0.5)  # PMIDs of one corpus are not contiguous


def write_corpus(target: str | Path | BinaryIO, n: int, *, seed: int = 0,
                 first_pmid: int = 20_000_001) -> int:
    """Write :func:`generate_records` as PubMed EFetch XML to a path or binary stream."""
    records = generate_records(n, seed=seed, first_pmid=first_pmid)
    if isinstance(target, str | Path):
        with open(target, "wb") as stream:
            return write_records(records, stream)
    return write_records(records, target)


def _zipf_cum(n: int, s: float = 1.05) -> list[float]:
    """Cumulative Zipf weights for ``n`` ranks: what random.choices wants for fast draws."""
    return list(itertools.accumulate(1.0 / (rank ** s) for rank in range(1, n + 1)))


class _Generator:
    """The vocabularies (built once from the seed) and one method per part of a record."""

    def __init__(self, seed: int) -> None:
        self.rng = rng = random.Random(seed)
        self.syllables = [a + b for a in "bcdfghklmnprstvz" for b in "aeiouy"] + [
            a + b + c for a in "bcdgklmnprst" for b in "aeiou" for c in "lnrsx"]
        # Made-up words: most frequent first, so the Zipf weights give a realistic long tail.
        self.pseudo = self._unique_words(30_000, 2, 4)
        # Running text: function and common words about a third, made-up words the rest with
        # Zipf frequencies. Each word is repeated in the pool as often as it is frequent, so a
        # uniform draw from the pool is a weighted draw, without a bisect per word.
        weights = [*(1500 for _ in _FUNCTION), *(300 for _ in _COMMON),
                   *(max(1, round(3_000 / rank ** 1.05)) for rank in range(1, 30_001))]
        self.text_pool = [w for word, k in zip([*_FUNCTION, *_COMMON, *self.pseudo], weights,
                                               strict=True) for w in itertools.repeat(word, k)]
        # A topic: a few made-up words that recur in its records (clusters, like real fields).
        self.topics = [rng.sample(self.pseudo[50:3000], 6) for _ in range(400)]
        self.topic_cum = _zipf_cum(len(self.topics), 0.8)
        self.works: list[Reference] = []  # built on the first reference list
        self.works_cum: list[float] = []
        self.mesh_names = [*(f"{w.capitalize()} Proteins" for w in self.pseudo[:300]),
                           *(f"{w.capitalize()} Syndrome" for w in self.pseudo[300:500]),
                           *(f"Receptors, {w.capitalize()}" for w in self.pseudo[500:700])]
        self.mesh_cum = _zipf_cum(len(self.mesh_names), 0.9)
        self.last_names = self._unique_words(8_000, 2, 3, capital=True, accents=0.03)
        self.last_cum = _zipf_cum(len(self.last_names), 0.7)
        self.fore_names = self._unique_words(600, 2, 3, capital=True, accents=0.02)
        self.journals = [self._journal() for _ in range(2_000)]
        self.journal_cum = _zipf_cum(len(self.journals), 0.9)
        self.places = [f"{self._word(2, 3).capitalize()} University, "
                       f"{self._word(2, 3).capitalize()}, {self._word(2, 3).capitalize()}"
                       for _ in range(1_500)]
        years = range(1966, _LAST_YEAR + 1)  # PubMed grows by about 4.5 % a year
        self.years = list(years)
        self.year_cum = list(itertools.accumulate(1.045 ** (y - 1966) for y in years))

    # ----------------------------------------------------------------- vocabulary helpers

    def _word(self, lo: int, hi: int) -> str:
        return "".join(self.rng.choices(self.syllables, k=self.rng.randint(lo, hi)))

    def _unique_words(self, n: int, lo: int, hi: int, *, capital: bool = False,
                      accents: float = 0.0) -> list[str]:
        seen: dict[str, None] = {}
        while len(seen) < n:
            w = self._word(lo, hi)
            if accents and self.rng.random() < accents:
                i = self.rng.randrange(1, len(w))
                w = w[:i] + self.rng.choice(_ACCENTED) + w[i + 1:]
            seen[w.capitalize() if capital else w] = None
        return list(seen)

    def _journal(self) -> tuple[str, str]:
        a, b = self._word(2, 4).capitalize(), self.rng.choice(_COMMON).capitalize()
        shape = self.rng.randrange(4)
        if shape == 0:
            return f"Journal of {a} {b}", f"J {a[:5]} {b[:4]}"
        if shape == 1:
            return f"{a} {b} Research", f"{a[:5]} {b[:4]} Res"
        if shape == 2:
            return f"International Journal of {a}", f"Int J {a[:6]}"
        return f"{a} Reports", f"{a[:6]} Rep"

    def _weighted(self, pairs: Sequence[tuple[str, int]]) -> str:
        return self.rng.choices([p for p, _ in pairs], weights=[w for _, w in pairs])[0]

    # -------------------------------------------------------------------------- text

    def _sentence(self, n_words: int, topic: Sequence[str], density: float) -> str:
        rng = self.rng
        words = rng.choices(self.text_pool, k=n_words)
        for _ in range(int(n_words * density + rng.random())):  # on average n_words * density
            words[rng.randrange(n_words)] = rng.choice(topic)
        if rng.random() < 0.25:  # numbers, statistics and inequalities, as results sentences have
            words.insert(rng.randrange(len(words) + 1),
                         rng.choice([f"(n = {rng.randint(8, 900)})", f"p < 0.0{rng.randint(1, 5)}",
                                     f"{rng.randint(1, 99)}.{rng.randint(0, 9)}%",
                                     f"{rng.randint(2, 60)} mg/kg"]))
        words[0] = words[0][:1].upper() + words[0][1:]
        return " ".join(words) + "."

    def _paragraph(self, n_words: int, topic: Sequence[str], density: float) -> str:
        out, left = [], n_words
        while left > 0:
            k = max(5, min(left, int(self.rng.gauss(20, 6))))
            out.append(self._sentence(k, topic, density))
            left -= k
        return " ".join(out)

    # ------------------------------------------------------------------------ records

    def record(self, pmid: int) -> PaperRecord:
        rng = self.rng
        year = rng.choices(self.years, cum_weights=self.year_cum)[0]
        domain = rng.random() < 0.12  # a minority of the corpus is on the claims' subject
        subtopics = rng.sample(sorted(_DOMAIN), rng.choice((1, 1, 2))) if domain else []
        topic = ([t for s in subtopics for t in _DOMAIN[s]] if domain else
                 rng.choices(self.topics, cum_weights=self.topic_cum)[0])
        status = self._weighted(_STATUSES)
        indexed = status == "MEDLINE"
        pub_types = self._publication_types(year)
        retracted = rng.random() < 0.002
        notice = not retracted and rng.random() < 0.001
        if retracted:
            pub_types.append("Retracted Publication")
        if notice:
            pub_types = ["Retraction of Publication", "Journal Article"]
        journal, journal_iso = rng.choices(self.journals, cum_weights=self.journal_cum)[0]
        n_title = max(4, int(rng.gauss(13, 4)))
        return PaperRecord(
            pmid=str(pmid),
            title=self._sentence(n_title, topic, 0.3 if domain else 0.15),
            abstract_sections=self._abstract(topic, 0.07 if domain else 0.05, notice),
            journal=journal if rng.random() < 0.99 else None,
            journal_iso=journal_iso if rng.random() < 0.97 else None,
            volume=str(rng.randint(1, 300)) if rng.random() < 0.93 else None,
            issue=str(rng.randint(1, 12)) if rng.random() < 0.8 else None,
            pages=self._pages(),
            pub_date=self._pub_date(year),
            authors=self._authors(year),
            doi=(f"10.{rng.randint(1000, 99999)}/{self._word(1, 2)}.{year}.{pmid % 100000}"
                 if rng.random() < (0.9 if year >= 2000 else 0.4) else None),
            pmcid=f"PMC{rng.randint(1000000, 9999999)}" if rng.random() < 0.25 else None,
            other_ids=self._other_ids(),
            language=self._weighted(_LANGUAGES),
            mesh=self._mesh(subtopics, indexed),
            publication_types=tuple(PublicationType(name, self._ui("D", name))
                                    for name in pub_types),
            keywords=self._keywords(topic, year),
            corrections=self._corrections(pmid, retracted, notice),
            references=self._references(year),
            status=status,
            date_revised=self._date_revised(year),
        )

    def _abstract(self, topic: Sequence[str], density: float,
                  notice: bool) -> tuple[AbstractSection, ...]:
        rng = self.rng
        if notice:
            return (AbstractSection(self._sentence(25, topic, 0.0)),)
        draw = rng.random()
        if draw < 0.12:
            return ()  # letters, editorials, old records: no abstract
        total = int(min(450, max(60, rng.lognormvariate(5.4, 0.3))))  # median about 220 words
        if draw < 0.45:
            labels = rng.choice((_SECTIONS[0:1] + _SECTIONS[2:], _SECTIONS[1:]))
            share = total // len(labels)
            return tuple(AbstractSection(self._paragraph(share, topic, density), label, cat)
                         for label, cat in labels)
        return (AbstractSection(self._paragraph(total, topic, density)),)

    def _pages(self) -> str | None:
        rng = self.rng
        draw = rng.random()
        if draw < 0.07:
            return None
        if draw < 0.2:
            return f"e{rng.randint(10000, 9999999)}"
        start = rng.randint(1, 3000)
        return f"{start}-{str(start + rng.randint(2, 20))[-2:]}"

    def _pub_date(self, year: int) -> PubDate:
        rng = self.rng
        draw = rng.random()
        if draw < 0.01:
            a = rng.randrange(11)
            return PubDate(year=year, medline_date=f"{year} {_MONTH_ABBR[a]}-{_MONTH_ABBR[a + 1]}")
        if draw < 0.03:
            return PubDate(year=year, season=rng.choice(_SEASONS))
        if draw < 0.13:
            return PubDate(year=year)
        month = rng.randint(1, 12)
        day = rng.randint(1, 28) if rng.random() < 0.4 else None
        return PubDate(year=year, month=month, day=day)

    def _date_revised(self, year: int) -> str | None:
        rng = self.rng
        if rng.random() < 0.03:
            return None
        y = min(_LAST_YEAR, year + int(rng.expovariate(0.4)))
        return f"{y:04d}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"

    def _authors(self, year: int) -> tuple[Author, ...]:
        rng = self.rng
        if rng.random() < 0.003:
            n = rng.randint(50, 400)  # consortium papers
        else:
            n = max(1, min(80, int(rng.lognormvariate(1.5, 0.65))))  # median about 5
        if year < 1980:
            n = min(n, 4)
        # Before 2014 MEDLINE kept only the first author's affiliation.
        all_affiliated = year >= 2014
        lasts = rng.choices(self.last_names, cum_weights=self.last_cum, k=n)
        out = []
        for i, last in enumerate(lasts):
            if rng.random() < 0.01 and i > 0:
                out.append(Author(collective_name=f"{self._word(2, 3).capitalize()} "
                                                  f"{rng.choice(('Study Group', 'Consortium'))}"))
                continue
            if rng.random() < 0.04:
                last = f"{rng.choice(('van der', 'de', 'Van', 'da'))} {last}"
            fore = " ".join(rng.choices(self.fore_names, k=rng.choice((1, 1, 1, 2))))
            initials = "".join(p[0] for p in fore.split()).upper()
            affiliations: tuple[str, ...] = ()
            if all_affiliated or i == 0:
                affiliations = tuple(
                    f"Department of {rng.choice(_COMMON).capitalize()}, "
                    f"{rng.choice(self.places)}."
                    for _ in range(rng.choices((0, 1, 2), (1, 8, 1))[0]))
            orcid = None
            if year >= 2012 and rng.random() < 0.35:
                orcid = (f"0000-000{rng.randint(1, 3)}-{rng.randint(0, 9999):04d}-"
                         f"{rng.randint(0, 9999):04d}")
            out.append(Author(last_name=last, fore_name=fore, initials=initials,
                              affiliations=affiliations, orcid=orcid))
        return tuple(out)

    def _ui(self, prefix: str, name: str) -> str:
        # Stable made-up identifiers in NLM's format; not NLM's real ones.
        return f"{prefix}{(sum(map(ord, name)) * 7919 + len(name)) % 1000000:06d}"

    def _mesh(self, subtopics: Sequence[str], indexed: bool) -> tuple[MeshHeading, ...]:
        rng = self.rng
        if not indexed:
            return ()
        names: dict[str, None] = {}
        for s in subtopics:
            for name in rng.sample(_DOMAIN_MESH[s], rng.randint(1, len(_DOMAIN_MESH[s]))):
                names[name] = None
        human = rng.random() < 0.6
        tags = ["Humans"] if human else ["Animals", rng.choice(("Mice", "Rats"))]
        tags += rng.sample(_CHECK_TAGS[2:4] + (_CHECK_TAGS[6:12] if human else _CHECK_TAGS[12:]),
                           rng.randint(0, 3))
        n_topic = max(1, int(rng.gauss(6, 2.5)))
        for name in rng.choices(self.mesh_names, cum_weights=self.mesh_cum, k=n_topic):
            names[name] = None
        for name in rng.sample(_GENERIC_MESH, rng.randint(0, 3)):
            names[name] = None
        for name in tags:
            names[name] = None
        out = []
        majors = rng.randint(1, 4)
        for i, name in enumerate(names):
            checked = name in _CHECK_TAGS
            quals = () if checked else tuple(
                MeshQualifier(q, self._ui("Q", q), rng.random() < 0.25)
                for q in rng.sample(_QUALIFIERS, rng.choices((0, 1, 2, 3), (4, 4, 2, 1))[0]))
            major = not checked and i < majors and not any(q.major for q in quals)
            out.append(MeshHeading(name, self._ui("D", name), major, quals))
        rng.shuffle(out)  # MEDLINE lists headings alphabetically-ish; order carries no meaning
        return tuple(out)

    def _publication_types(self, year: int) -> list[str]:
        rng = self.rng
        types = ["Journal Article"]
        for name, per_mille in _DESIGN_TYPES:
            if rng.random() * 1000 < per_mille:
                types.append(name)
        if year >= 1975:
            types += [t for t in _FUNDING if rng.random() < 0.12]
        return types

    def _keywords(self, topic: Sequence[str], year: int) -> tuple[str, ...]:
        rng = self.rng
        if year < 2000 or rng.random() < 0.6:
            return ()
        words = {rng.choice(topic) for _ in range(rng.randint(3, 7))}
        words.add(rng.choice(self.pseudo[:5000]))
        return tuple(sorted(words))

    def _corrections(self, pmid: int, retracted: bool, notice: bool) -> tuple[Correction, ...]:
        rng = self.rng
        out = []
        if retracted:
            out.append(Correction("RetractionIn", self._citation_source(),
                                  str(pmid + rng.randint(1000, 500000))))
        if notice:
            out.append(Correction("RetractionOf", self._citation_source(),
                                  str(max(1, pmid - rng.randint(1000, 500000)))))
        if rng.random() < 0.05:
            for _ in range(rng.choice((1, 1, 1, 2, 3))):
                ref_pmid = str(pmid + rng.randint(-300000, 300000)) if rng.random() < 0.9 else None
                out.append(Correction(rng.choice(_COMMENT_TYPES), self._citation_source(),
                                      ref_pmid if ref_pmid and int(ref_pmid) > 0 else None))
        return tuple(out)

    def _citation_source(self) -> str:
        rng = self.rng
        _name, iso = rng.choices(self.journals, cum_weights=self.journal_cum)[0]
        return f"{iso}. {rng.randint(1970, _LAST_YEAR)};{rng.randint(1, 300)}:{rng.randint(1, 999)}"

    def _references(self, year: int) -> tuple[Reference, ...]:
        rng = self.rng
        # Reference lists come with PMC deposits: common in recent years, rare before 2005.
        if rng.random() >= (0.45 if year >= 2010 else 0.2 if year >= 2000 else 0.03):
            return ()
        n = max(1, min(250, int(rng.lognormvariate(3.5, 0.55))))  # median about 33
        if not self.works:
            self.works = [self._work() for _ in range(20_000)]
            self.works_cum = _zipf_cum(len(self.works), 0.6)  # a few papers are cited a lot
        return tuple(dict.fromkeys(rng.choices(self.works, cum_weights=self.works_cum, k=n)))

    def _work(self) -> Reference:
        """A citable paper: the same work is cited, with the same ids, by many records."""
        rng = self.rng
        lasts = rng.choices(self.last_names, cum_weights=self.last_cum, k=rng.randint(1, 3))
        names = ", ".join(f"{last} {rng.choice('ABCDEFGHJKLMNPRST')}" for last in lasts)
        if rng.random() < 0.3:
            names += ", et al"
        _journal, iso = rng.choices(self.journals, cum_weights=self.journal_cum)[0]
        title = " ".join(rng.choices(self.text_pool, k=rng.randint(6, 14)))
        citation = (f"{names}. {title.capitalize()}. {iso}. {rng.randint(1960, _LAST_YEAR)};"
                    f"{rng.randint(1, 300)}:{rng.randint(1, 2000)}-{rng.randint(1, 99)}.")
        pmid = str(rng.randint(1_000_000, 40_000_000)) if rng.random() < 0.75 else None
        doi = (f"10.{rng.randint(1000, 9999)}/{self._word(1, 2)}.{rng.randint(1, 99999)}"
               if rng.random() < 0.4 else None)
        pmc = f"PMC{rng.randint(100000, 9999999)}" if rng.random() < 0.1 else None
        return Reference(citation, pmid, doi, pmc)

    def _other_ids(self) -> tuple[tuple[str, str], ...]:
        rng = self.rng
        out = []
        if rng.random() < 0.3:
            out.append(("pii", f"S{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}"
                               f"({rng.randint(10, 99)}){rng.randint(10000, 99999)}-"
                               f"{rng.randint(0, 9)}"))
        if rng.random() < 0.05:
            out.append(("mid", f"NIHMS{rng.randint(100000, 999999)}"))
        return tuple(out)
