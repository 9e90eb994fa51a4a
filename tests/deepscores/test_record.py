"""The committed full-scale record on the DeepScores page, drawn from the record file alone:
known answers on a hand-made record (the chapter test draws a real run's)."""

from __future__ import annotations

import pytest

from dlwild.deepscores import claims, record


def _record(**detector) -> dict:
    ap = [{"class": "noteheadBlack", "count": 10, "ap50": 0.5, "ap25": 0.7, "map": 0.2},
          {"class": "keySharp", "count": 0, "ap50": None, "ap25": None, "map": None},
          {"class": "fermataAbove", "count": 4, "ap50": 0.9, "ap25": 1.0, "map": 0.5},
          {"class": "accidentalSharp", "count": 6, "ap50": 0.1, "ap25": 0.3, "map": 0.0}]
    return {"scale": "full", "claims": [{"id": "rel_long_tail", "verdict": "holds"}],
            "metrics": {
                "dataset": {"train_pieces": ["a", "b", "c"], "test_pieces": ["d"],
                            "train_pages": 30, "test_pages": 10, "fonts": ["Leipzig"],
                            "skipped": {"e": "no notes"}, "symbols": 10_000, "classes": 12,
                            "top_class_share": 0.6, "top_decile_share": 0.9},
                "classifier": {"macro_accuracy": 0.97},
                "detector": {"ap": ap, "ap_cached": ap, "spearman_frequency_ap50": 0.5,
                             **detector},
                "schedules": {"joint": {"mean AP@0.5": 0.4}, "paper": {"mean AP@0.5": 0.3}}}}


def test_the_table_1_means_take_the_listed_classes_with_test_symbols():
    means = record.table_1_means(_record())
    # AP50: noteheadBlack and accidentalSharp are in Table 1 and have test symbols; keySharp
    # has none here, fermataAbove is not in the table.
    row = means.loc["mean AP50 over Table 1's classes here"]
    assert row["classes"] == 2 and row["ours"] == pytest.approx(0.3)
    assert row["paper"] == pytest.approx((claims.TABLE_1_AP50["noteheadBlack"]
                                          + claims.TABLE_1_AP50["accidentalSharp"]) / 2)
    assert means.loc["mean AP25 over Table 1's classes here", "ours"] == pytest.approx(0.5)


def test_the_corpus_and_the_paragraph_come_from_the_record():
    made = _record(confusions={"keySharp": {"accidentalSharp": 3, "missed": 1},
                               "accidentalSharp": {"accidentalSharp": 5, "missed": 1}},
                   train_counts={"noteheadBlack": 100, "keySharp": 5, "fermataAbove": 7,
                                 "accidentalSharp": 9})
    corpus = record.corpus_table(made)
    assert corpus.loc["symbols per page (mean)", "ours (full)"] == "250"  # 10,000 / 40
    assert corpus.loc["pieces skipped (the engraver refused them)", "ours (full)"] == 1
    assert list(record.ap_table(made).columns[:2]) == ["train", "test"]
    counts = record.confusion_counts(made)
    assert list(counts.columns) == ["accidentalSharp", "missed"]
    assert counts.loc["keySharp"].tolist() == [3, 1]
    text = record.record_text(made)
    assert "It engraved 4 pieces (1 skipped) into 40 pages in 1 font," in text
    assert "the long-tail claim: holds" in text
    assert "keySharp (4 test symbols: 3 found as accidentalSharp, 1 missed)" in text


def test_a_record_made_before_the_confusions_were_kept_still_draws():
    old = _record()
    assert record.confusion_counts(old) is None
    assert "sharps" not in record.record_text(old)
    assert list(record.ap_table(old).columns[:1]) == ["test"]


def test_the_paragraph_says_when_a_schedule_found_nothing():
    made = _record()
    rows = {"joint": (0.4, 212.6, 0.03, 0.12), "paper": (0.0, 0.0, 0.08, 2.1)}
    made["metrics"]["schedules"] = {
        name: {"mean AP@0.5": ap, "detections per test page": n, "held-out energy loss": e,
               "held-out class loss": c} for name, (ap, n, e, c) in rows.items()}
    text = record.record_text(made)
    assert ("staged schedule, the detector's mean AP at IoU 0.5 is 0.000 with 0 detections "
            "per test page (held-out energy loss 0.080, class loss 2.100); trained jointly, "
            "0.400 with 213 detections") in text
    assert "The staged detector finds nothing" in text
    made["metrics"]["schedules"]["paper"]["detections per test page"] = 3.0
    assert "finds nothing" not in record.record_text(made)
    assert "finds nothing" not in record.record_text(_record())  # a record without counts


def test_the_paragraph_says_when_the_classifier_was_still_learning():
    made = _record()
    made["metrics"]["classifier"]["history"] = {"epochs": [
        {"epoch": 1, "val_accuracy": 0.49}, {"epoch": 2, "val_accuracy": 0.66}]}
    assert ("macro accuracy of 0.970 after 2 epochs, its validation accuracy still rising in "
            "the last one (from 0.49 to 0.66).") in record.record_text(made)
    made["metrics"]["classifier"]["history"]["epochs"][1]["val_accuracy"] = 0.50
    assert "macro accuracy of 0.970. " in record.record_text(made)
