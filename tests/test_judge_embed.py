"""The embedding judge (evtrack[embed]): its pure-Python parts with a stand-in encoder, always;
the real all-MiniLM-L6-v2 encoder only where the extra is installed (skipped cleanly otherwise).

Every sentence here was written for these tests.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from evtrack import judge_embed
from evtrack.claims import Claim
from evtrack.judge import AUTO_METHODS, EMBED_METHOD, current_versions, judge_link, judge_text
from evtrack.judge_embed import (
    EMBED_MODEL_PATH,
    EMBED_VERSION,
    CachedEncoder,
    EmbedModel,
    EmbedUnavailableError,
    Vectors,
    label_similarity,
    load_embed_model,
    similarity_features,
)
from evtrack.judge_eval import Pair
from evtrack.judge_features import tokens
from evtrack.judge_model import LABELS, load_model
from evtrack.records import AbstractSection, PaperRecord

if TYPE_CHECKING:
    from conftest import DatabaseFactory


class HashEncoder:
    """A deterministic stand-in: each word hashed into one of 64 dimensions, unit length."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        out = []
        for t in texts:
            v = [0.0] * 64
            for w in tokens(t):
                v[int(hashlib.sha256(w.encode()).hexdigest(), 16) % 64] += 1.0
            n = math.sqrt(sum(x * x for x in v)) or 1.0
            out.append([x / n for x in v])
        return out


def unit(*xs: float) -> list[float]:
    n = math.sqrt(sum(x * x for x in xs))
    return [x / n for x in xs]


# -- pure-Python parts ----------------------------------------------------------------------
def test_similarity_features_rank_and_gap() -> None:
    claim = unit(1, 0, 0)
    sents = [unit(0, 1, 0), unit(1, 1, 0), unit(1, 0, 0)]
    f = similarity_features(claim, sents, title=unit(0, 0, 1))
    assert [round(x["cos"], 6) for x in f] == [0.0, round(1 / math.sqrt(2), 6), 1.0]
    assert [x["cos_r1"] for x in f] == [0.0, 0.0, 1.0]
    assert [x["cos_r2"] for x in f] == [0.0, 1.0, 0.0]
    assert f[2]["cos_gap"] == 0.0 and f[0]["cos_gap"] == pytest.approx(1.0)
    assert f[2]["cos_z"] > 0 > f[0]["cos_z"]
    assert all(x["cos_title"] == 0.0 for x in f)
    assert similarity_features(claim, [], None) == []


def test_label_similarity_reads_the_chosen_sentences() -> None:
    claim = unit(1, 0)
    sents = [unit(1, 0), unit(0, 1), unit(1, 1)]
    f = label_similarity(claim, sents, chosen=[1], scores=[0.2, 0.9, 0.4])
    assert f["cos_top"] == pytest.approx(0.0)
    assert f["cos_best"] == pytest.approx(1.0)
    assert f["score_best"] == 0.9
    both = label_similarity(claim, sents, chosen=[0, 1], scores=[0.9, 0.8, 0.1])
    assert both["cos_rationale"] == pytest.approx(1 / math.sqrt(2))


def test_cached_encoder_encodes_each_text_once() -> None:
    inner = HashEncoder()
    enc = CachedEncoder(inner)
    first = enc.embed(["a b", "c d", "a b"])
    again = enc.embed(["c d", "e f"])
    assert first[0] == first[2] and again[0] == first[1]
    assert inner.calls == [["a b", "c d"], ["e f"]]


def test_vectors_split_claim_sentences_and_title() -> None:
    v = Vectors.of(HashEncoder(), "claim words", ["one", "two"], "a title")
    assert len(v.sentences) == 2 and v.title is not None
    assert Vectors.of(HashEncoder(), "claim", ["one"], None).title is None


def _pairs() -> list[Pair]:
    """Hand-written training pairs: two drugs, each supported, contradicted or not addressed."""
    out = []
    filler = ("Participants were recruited from three clinics.",
              "Samples were stored at minus eighty degrees.")
    topics = [("Zorvatin", "lowers", "plasma urate", "reduced plasma urate",
               "did not change plasma urate"),
              ("Quelamide", "raises", "hepatic glycogen", "increased hepatic glycogen",
               "had no effect on hepatic glycogen"),
              ("Brimexol", "reduces", "airway mucus", "decreased airway mucus",
               "failed to alter airway mucus"),
              ("Tasoprene", "increases", "bone density", "raised bone density",
               "left bone density unchanged")]
    n = 0
    for k in range(6):
        for drug, verb, target, yes, no in topics:
            claim = f"{drug} {verb} {target} (cohort {k})."
            n += 1
            out.append(Pair(n, claim, 10 * n, f"{drug} trial",
                            (filler[0], f"{drug} {yes} in the treated group.", filler[1]),
                            "SUPPORT", frozenset({1})))
            n += 1
            out.append(Pair(n, claim, 10 * n + 1, f"{drug} trial",
                            (filler[1], filler[0], f"{drug} {no} in the treated group."),
                            "CONTRADICT", frozenset({2})))
            n += 1
            out.append(Pair(n, claim, 10 * n + 2, "Clinic logistics",
                            (filler[0], "Waiting times fell after the new rota.", filler[1]),
                            "NOT ENOUGH INFO"))
    return out


@pytest.fixture(scope="module")
def trained() -> EmbedModel:
    pytest.importorskip("numpy")
    from evtrack.judge_embed_train import lexical_base, train_embed
    lex = load_model()
    return train_embed(_pairs(), lexical_base(dict(lex.idf), lex.default_idf), HashEncoder(),
                       version="test")


def test_trained_heads_fit_hand_written_pairs(trained: EmbedModel) -> None:
    pairs = _pairs()
    enc = HashEncoder()
    preds = [trained.predict(p.claim, p.sentences, p.title, encoder=enc) for p in pairs]
    right = sum(pr.label == p.label for pr, p in zip(preds, pairs, strict=True))
    assert right / len(pairs) >= 0.9
    evidence = [(pr, p) for pr, p in zip(preds, pairs, strict=True) if p.rationale]
    assert sum(pr.rationale[0] in p.rationale for pr, p in evidence) / len(evidence) >= 0.9
    assert all(set(pr.probabilities) == set(LABELS) for pr in preds)
    assert all(math.isclose(sum(pr.probabilities.values()), 1.0) for pr in preds)


def test_training_is_deterministic(trained: EmbedModel) -> None:
    from evtrack.judge_embed_train import lexical_base, train_embed
    lex = load_model()
    again = train_embed(_pairs(), lexical_base(dict(lex.idf), lex.default_idf), HashEncoder(),
                        version="test")
    assert again.to_json() == trained.to_json()


def test_heads_round_trip_through_json(trained: EmbedModel) -> None:
    back = EmbedModel.from_json(json.loads(json.dumps(trained.to_json())), trained.lexical)
    assert back == trained


def test_judge_text_records_the_embedding_method(trained: EmbedModel) -> None:
    p = _pairs()[1]  # a contradicting pair
    j = judge_text(p.claim, p.sentences, title=p.title, judge="embed", embed_model=trained,
                   encoder=HashEncoder())
    assert (j.method, j.version) == (EMBED_METHOD, "test")
    assert j.stance == "contradicts" and j.rationale_indices[0] == 2
    assert j.rationale == p.sentences[2]


def test_an_abstract_without_sentences_is_not_enough_info(trained: EmbedModel) -> None:
    pred = trained.predict("Zorvatin lowers plasma urate.", [], None, encoder=HashEncoder())
    assert pred.label == "NOT ENOUGH INFO" and pred.rationale == ()


def test_the_rules_still_decide_first_for_a_structured_claim(trained: EmbedModel) -> None:
    c = Claim(id="C9", text="Ketamine increases BDNF.", subject="ketamine",
              relation="increases", object="BDNF")
    j = judge_text(c, ["Ketamine increased BDNF in the hippocampus."], judge="embed",
                   embed_model=trained, encoder=HashEncoder())
    assert (j.stance, j.method) == ("supports", "cue-rules")


def test_the_embedding_judge_without_its_extra_says_what_to_install(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(judge_embed, "available", lambda: False)
    with pytest.raises(EmbedUnavailableError, match=r"evtrack\[embed\]"):
        judge_text("Zorvatin lowers plasma urate.", ["Zorvatin reduced plasma urate."],
                   judge="embed")
    with pytest.raises(EmbedUnavailableError):
        judge_embed.MiniLMEncoder()
    # The default judge does not care.
    assert judge_text("Zorvatin lowers plasma urate.",
                      ["Zorvatin reduced plasma urate."]).method == "lexical-lr"


def test_an_unknown_judge_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown judge"):
        judge_text("x", ["y"], judge="nli")
    with pytest.raises(ValueError, match="unknown judge"):
        current_versions("nli")


def test_current_versions_name_each_judges_layers() -> None:
    assert current_versions() == {"cue-rules": load_model().version,
                                  "lexical-lr": load_model().version}
    embed = current_versions("embed")
    assert embed == {"cue-rules": load_model().version, EMBED_METHOD: EMBED_VERSION}
    assert set(current_versions()) | set(embed) == set(AUTO_METHODS)


def test_shipped_heads_are_small_numbers_matching_the_version() -> None:
    raw = EMBED_MODEL_PATH.read_text(encoding="utf-8")
    assert len(raw.encode()) < 200_000
    data = json.loads(raw)
    assert data["method"] == EMBED_METHOD and data["version"] == EMBED_VERSION
    model = load_embed_model()
    assert model.version == EMBED_VERSION
    assert {"cos", "cos_gap", "recall"} <= set(model.rationale.features)
    assert {"cos_top", "recall_top", "dir_disagree"} <= set(model.label.features)
    assert model.label.classes == LABELS
    assert 0 < model.threshold < 1 and 1 <= model.max_rationale <= 4


# -- the real encoder (needs the extra) -----------------------------------------------------
@pytest.fixture(scope="module")
def minilm() -> judge_embed.Encoder:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    pytest.importorskip(judge_embed.ENCODER_MODULE)
    return judge_embed.default_encoder()


def test_minilm_gives_unit_vectors_that_track_meaning(minilm: judge_embed.Encoder) -> None:
    texts = ["The drug lowered blood pressure in adults.",
             "Blood pressure fell in adults given the drug.",
             "The committee met on a rainy Tuesday."]
    a, b, c = minilm.embed(texts)
    assert len(a) == 384
    assert all(math.isclose(sum(x * x for x in v), 1.0, rel_tol=1e-4) for v in (a, b, c))
    assert judge_embed.dot(a, b) > judge_embed.dot(a, c) + 0.3


def test_minilm_vectors_do_not_depend_on_the_batch(minilm: judge_embed.Encoder) -> None:
    alone = minilm.embed(["Mice lacking the receptor gained weight."])[0]
    among = minilm.embed(["A much longer sentence about an entirely different matter, padded "
                          "with words so that the batch needs padding.",
                          "Mice lacking the receptor gained weight."])[1]
    assert max(abs(x - y) for x, y in zip(alone, among, strict=True)) < 1e-4


def test_the_shipped_embedding_judge_picks_the_sentence_about_the_claim(
        minilm: judge_embed.Encoder) -> None:
    sentences = ["We enrolled 120 adults from two hospitals.",
                 "Zorvatin did not change plasma urate compared with placebo (p = 0.7).",
                 "Adverse events were mild."]
    j = judge_text("Zorvatin lowers plasma urate.", sentences, title="A Zorvatin trial",
                   judge="embed")
    assert j.method == EMBED_METHOD and j.version == EMBED_VERSION
    assert j.stance in ("supports", "contradicts", "mentions", "unclear")
    if j.rationale_indices:
        assert j.rationale_indices[0] == 1
    again = judge_text("Zorvatin lowers plasma urate.", sentences, title="A Zorvatin trial",
                       judge="embed")
    assert again == j


def test_judge_link_with_the_embedding_judge(minilm: judge_embed.Encoder) -> None:
    # The object's name is not in the abstract, so the rules cannot read the relation.
    c = Claim(id="C1", text="Zorvatin lowers plasma urate.", subject="Zorvatin",
              relation="decreases", object="uric acid")
    rec = PaperRecord(pmid="1", title="Zorvatin and urate", abstract_sections=(
        AbstractSection("We enrolled 120 adults. Zorvatin reduced plasma urate by a third "
                        "compared with placebo."),))
    j = judge_link(c, rec, judge="embed")
    assert j.method == EMBED_METHOD


# -- refresh with the embedding judge (stand-in encoder) ------------------------------------
def test_refresh_rejudges_links_when_the_judge_changes(
        databases: DatabaseFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy import select

    from evtrack.claims import load_claims
    from evtrack.offline import OfflineSource
    from evtrack.refresh import refresh
    from evtrack.resources import default_claims_dir, snapshot_files
    from evtrack.store.db import open_store
    from evtrack.store.models import Judgement

    monkeypatch.setattr(judge_embed, "available", lambda: True)
    monkeypatch.setattr(judge_embed, "default_encoder", HashEncoder)
    url = databases.create()
    try:
        engine = open_store(url)
        claims = load_claims([default_claims_dir()])

        def rows() -> list[tuple[int, str, str, str]]:
            with engine.connect() as conn:
                return sorted(tuple(r) for r in conn.execute(select(
                    Judgement.link_id, Judgement.method, Judgement.version, Judgement.stance)
                    .where(Judgement.method.in_(AUTO_METHODS))))

        def source() -> OfflineSource:
            return OfflineSource.from_files(snapshot_files())

        refresh(engine, claims, source())
        lexical = rows()
        assert {m for _l, m, _v, _s in lexical} <= {"cue-rules", "lexical-lr"}
        assert any(m == "lexical-lr" for _l, m, _v, _s in lexical)

        refresh(engine, claims, source(), judge="embed")
        embed = rows()
        methods = {m for _l, m, _v, _s in embed}
        assert "lexical-lr" not in methods and EMBED_METHOD in methods
        # One automatic judgement per link, whichever layer made it.
        assert len({lid for lid, *_x in embed}) == len(embed) == len(lexical)
        # The rules' calls do not depend on the judge chosen.
        assert ({r for r in embed if r[1] == "cue-rules"}
                == {r for r in lexical if r[1] == "cue-rules"})

        refresh(engine, claims, source(), judge="embed")
        assert rows() == embed  # nothing stale: nothing judged again differently
        refresh(engine, claims, source())
        assert rows() == lexical
    finally:
        databases.drop(url)


def test_cli_refresh_with_the_embedding_judge_but_not_the_extra(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli_db: str | None) -> None:
    from click.testing import CliRunner

    from evtrack.cli import cli

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(judge_embed, "available", lambda: False)
    for var in ("NCBI_EMAIL", "NCBI_API_KEY", "EVTRACK_CONFIG", "EVTRACK_JUDGE"):
        monkeypatch.delenv(var, raising=False)
    for args, env in ((["refresh", "--judge", "embed"], {}),
                      (["refresh"], {"EVTRACK_JUDGE": "embed"})):
        result = CliRunner().invoke(cli, args, env=env)
        assert result.exit_code != 0
        assert "evtrack[embed]" in result.output
        assert "Refresh run" not in result.output


def test_cli_refresh_with_the_embedding_judge_says_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli_db: str | None) -> None:
    from click.testing import CliRunner

    from evtrack.cli import cli

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(judge_embed, "available", lambda: True)
    monkeypatch.setattr(judge_embed, "default_encoder", HashEncoder)
    for var in ("NCBI_EMAIL", "NCBI_API_KEY", "EVTRACK_CONFIG", "EVTRACK_JUDGE"):
        monkeypatch.delenv(var, raising=False)
    result = CliRunner().invoke(cli, ["refresh", "--judge", "embed"])
    assert result.exit_code == 0, result.output
    assert f"Judging with the embedding judge ({EMBED_METHOD} {EMBED_VERSION}" in result.output
    assert "Refresh run" in result.output
