"""The room registry's numbers as Prometheus gauges, read at scrape time."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from rooms import LiveRooms, RoomStats

# Per-room gauges: name, help text, and how to read the number from a room's stats.
PER_ROOM: tuple[tuple[str, str, Callable[[RoomStats], float]], ...] = (
    ("yizhan_room_participants", "Participants in the room", lambda r: r.participants),
    ("yizhan_room_waiting", "Arrivals waiting for admission", lambda r: r.waiting),
    ("yizhan_room_video_subscribers", "Receivers of the wall video",
     lambda r: r.video_subscribers),
    ("yizhan_room_frames_composited", "Wall frames composited", lambda r: r.frames_composited),
    ("yizhan_room_frames_encoded", "Wall frames encoded", lambda r: r.frames_encoded),
    ("yizhan_room_video_bytes_sent", "Wall video bytes sent", lambda r: r.video_bytes_sent),
    ("yizhan_room_video_bitrate", "Wall encoder target bitrate (bit/s)",
     lambda r: r.video_bitrate),
    ("yizhan_room_compose_ms", "Average wall compositing time (ms)", lambda r: r.compose_ms_avg),
    ("yizhan_room_encode_ms", "Average wall encoding time (ms)", lambda r: r.encode_ms_avg),
    ("yizhan_room_audio_mix_ms", "Average audio mixing time (ms)", lambda r: r.audio_mix_ms_avg),
    ("yizhan_room_fps", "Wall frames made per second (last 2 s)", lambda r: r.fps),
    ("yizhan_room_frame_ms", "Compose and encode time per wall frame (smoothed)",
     lambda r: r.frame_ms),
    ("yizhan_room_frame_load", "Wall frame time as a share of the interval",
     lambda r: r.frame_load),
    ("yizhan_room_reconnecting", "Participants whose place is held", lambda r: r.reconnecting),
    ("yizhan_room_audio_only", "Receivers on audio only", lambda r: r.audio_only),
    ("yizhan_room_small_subscribers", "Receivers of the small encode (weak links)",
     lambda r: r.small_subscribers),
    ("yizhan_room_small_video_bitrate", "Small encode target bitrate (bit/s)",
     lambda r: r.small_video_bitrate),
    ("yizhan_room_process_cpu", "Share of the cores the room's worker process keeps busy",
     lambda r: r.process_cpu),
)


def _gauge(name: str, text: str, value: float) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, text)
    family.add_metric([], value)
    return family


def room_gauges(registry: LiveRooms) -> Iterable[Metric]:
    stats = registry.stats()
    config = registry.config
    server = [
        _gauge("yizhan_rooms_open", "Live video rooms", stats.rooms),
        _gauge("yizhan_rooms_participants", "Participants in all live rooms",
               stats.participants),
        _gauge("yizhan_rooms_hook_calls_dropped",
               "Room hook calls dropped because the hooks fell behind",
               stats.hook_calls_dropped),
        _gauge("yizhan_rooms_max", "Limit: live video rooms at once (YIZHAN_MAX_ROOMS)",
               config.max_rooms),
        _gauge("yizhan_room_participants_max",
               "Limit: participants in one room (YIZHAN_MAX_PARTICIPANTS)",
               config.max_participants),
        _gauge("yizhan_room_workers", "Room worker processes running (a process per room)",
               stats.workers),
        _gauge("yizhan_server_cpu_load",
               "Share of the usable cores this server keeps busy (smoothed)", stats.cpu_load),
        _gauge("yizhan_server_cpu_budget",
               "Limit: CPU share above which newcomers are refused (YIZHAN_CPU_BUDGET)",
               config.load.cpu_budget),
        _gauge("yizhan_room_frame_budget",
               "Limit: share of the frame interval a room's wall may take (YIZHAN_FRAME_BUDGET)",
               config.load.frame_budget),
        _gauge("yizhan_room_reconnect_hold_seconds",
               "How long a dropped participant keeps its place (YIZHAN_RECONNECT_HOLD)",
               config.reconnect_hold),
    ]
    refused = CounterMetricFamily("yizhan_rooms_refused", "Joins refused, by reason",
                                  labels=["reason"])
    for reason, count in sorted(stats.refused.items()):
        refused.add_metric([reason], count)
    restarts = CounterMetricFamily(
        "yizhan_room_worker_restarts", "Room worker processes that ended unasked (crashed)")
    restarts.add_metric([], stats.worker_restarts)
    hung = CounterMetricFamily(
        "yizhan_room_workers_hung", "Room worker processes killed for going silent (hung)")
    hung.add_metric([], stats.workers_hung)
    per_room = []
    for name, text, read in PER_ROOM:
        family = GaugeMetricFamily(name, text, labels=["room"])
        for room in stats.per_room:
            family.add_metric([room.room_id], float(read(room)))
        per_room.append(family)
    return [*server, refused, restarts, hung, *per_room]
