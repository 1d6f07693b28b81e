"""From logged numbers to the report: latency matching, medians, targets, the table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench import analysis, loginflood, report
from bench.clip import FRAMES
from bench.scenarios import extrapolate


def test_latency_takes_the_latest_send_of_a_counter_and_counts_each_picture_once() -> None:
    sent = [10.0 + n * 0.04 for n in range(2 * FRAMES)]  # two loops of the clip
    publisher = {"room": "r", "sender": 3, "sent_from": 0, "sent": sent}
    seen_at = sent[FRAMES + 5] + 0.120  # frame n=FRAMES+5 (counter 5), 120 ms later
    sampler = {"room": "r", "sender": 1, "stamps": [
        [seen_at, 3, 5], [seen_at + 0.04, 3, 5],  # the same picture again: not a new sample
        [sent[FRAMES + 6] + 0.100, 3, 6],
    ]}
    result = analysis.latencies([publisher, sampler])
    assert result["samples"] == 2
    assert round(result["p50_ms"]) == 110
    assert result["pictures_per_publisher"] == {"r/3": 2}


def test_site_fps_is_the_slowest_stream_of_each_site() -> None:
    peers = [{"video_frames": [250, 240]}, {"video_frames": [], "decoded_frames": 230}]
    assert analysis.site_fps(peers, 10.0) == [24.0, 23.0]


def test_extrapolation_recovers_decode_and_encode_costs() -> None:
    def cost(n: int) -> float:
        return 0.01 * n + 0.05 * n * (n - 1)

    sizes = {str(n): {"server_cores": cost(n), "fps_median": 25.0} for n in (3, 4, 5)}
    result = extrapolate(sizes, 15)
    assert round(result["extrapolated_cores"], 3) == round(cost(15), 3)
    # A relay that only managed half the frame rate needed twice the CPU for all of them.
    halved = {k: {**v, "server_cores": v["server_cores"] / 2, "fps_median": 12.5}
              for k, v in sizes.items()}
    assert extrapolate(halved, 15)["extrapolated_cores"] == result["extrapolated_cores"]


def _results() -> dict[str, Any]:
    runs = [{"server_cores": c, "fps_min": f, "latency_p95_ms": 90.0, "errors": ["x"]}
            for c, f in ((0.4, 24.5), (0.6, 24.0), (0.45, 25.0))]
    summary = {f"room15.{k}": v for k, v in report.summarise(runs).items()}
    summary["ratios.cpu_vs_janus"] = {"min": 2.5, "median": 3.0, "max": 3.5, "n": 3}
    return {
        "started_at": "2026-11-23 05:00 UTC", "duration_s": 600.0,
        "options": {"runs": 3, "duration": 10.0, "warmup": 3.0},
        "machine": {"cpu_model": "AMD EPYC", "cores": 2, "cores_usable": 2, "memory_gb": 23.5,
                    "python": "3.11.7", "aiortc": "1.16.0", "av": "18.1.0"},
        "load_before": {"load_1m": 0.5}, "load_after": {"load_1m": 1.5},
        "scenarios": {}, "summary": summary, "targets": report.judge(summary),
    }


def test_summary_has_median_min_max_of_numbers_only() -> None:
    summary = report.summarise([{"a": 1, "b": {"c": 2.0}, "d": "text"}, {"a": 3, "b": {"c": 4.0}}])
    assert summary == {
        "a": {"min": 1.0, "median": 2.0, "max": 3.0, "n": 2},
        "b.c": {"min": 2.0, "median": 3.0, "max": 4.0, "n": 2},
    }


def test_targets_are_judged_on_medians_with_their_margin() -> None:
    verdicts = {v["target"]: v for v in _results()["targets"]}
    room = verdicts["one 15-site room in at most 0.5 core, every site >= 24 fps"]
    assert (room["measured"], room["met"]) == (0.45, True)
    assert room["margin"] == "under by 0.05 cores (0.90x the limit)"
    assert verdicts["server CPU <= 2x Janus's"]["met"] is False
    assert verdicts["join to first frame < 0.8 s"]["met"] is None


def test_the_table_replaces_only_the_generated_part(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    doc.write_text(f"# Performance\n\nprose before\n\n{report.BEGIN}\nold\n{report.END}\n\nprose after\n")
    report.update_doc(doc, report.render(_results()))
    text = doc.read_text()
    assert text.startswith("# Performance\n\nprose before\n\n" + report.BEGIN)
    assert text.endswith(report.END + "\n\nprose after\n")
    assert "old" not in text
    assert "| 15-site room: server CPU (cores) | 0.450 | 0.400 | 0.600 | 3 |" in text
    assert "| server CPU <= 2x Janus's | 3 x | **no** | over by 1 x (1.50x the limit) |" in text


def test_sign_in_flood_percentiles_and_targets() -> None:
    assert loginflood._ms([0.001 * i for i in range(1, 101)]) == {
        "samples": 100, "p50_ms": 50.5, "p95_ms": 96.0, "max_ms": 100.0}
    assert loginflood._ms([0.01, 0.03])["p95_ms"] == 30.0  # too few for a percentile: the max
    runs = [{"flood": {"healthz": {"p95_ms": h}, "room": {"p95_ms": r}}}
            for h, r in ((150.0, 250.0), (190.0, 210.0), (260.0, 90.0))]
    summary = {f"login_flood.{k}": v for k, v in report.summarise(runs).items()}
    verdicts = {v["target"]: v for v in report.judge(summary)}
    healthz = verdicts["/healthz < 200 ms p95 during 60 concurrent wrong sign-ins"]
    room = verdicts["room signalling round trip < 200 ms p95 during 60 concurrent wrong sign-ins"]
    assert (healthz["measured"], healthz["met"]) == (190.0, True)
    assert (room["measured"], room["met"]) == (210.0, False)
