"""Every route of the app, registered from this one place, in matching order.

Pages (`web.pages`), the JSON API, Open311 and OpenAPI, health and metrics, and the room
WebSocket: a reader lists them all here. Each handler declares who may call it
(`server.accounts.access`); `check_route_table` refuses to start an app with a route that
does not.
"""

from __future__ import annotations

from aiohttp import web

from server.edge import (
    cluster_bridge,
    health,
    open311,
    openapi,
    opinion_api,
    room_documents,
    room_socket,
)
from web.pages import auth, board, dashboard, inbox, recordings, residents, room_chat, standby
from web.pages import meetings as meeting_pages
from web.pages import rooms as room_pages
from web.pages.admin import directory as admin
from web.pages.admin import notices as notices_admin
from web.pages.categories import category_handlers
from web.pages.legal import live as question_live
from web.pages.legal import questions
from web.pages.legal import records as question_records
from web.pages.opinions import categories as opinion_categories
from web.pages.opinions import items as opinions
from web.pages.opinions import stats as opinion_stats
from web.pages.schedule import duty_changes, feeds, programmes, workdays
from web.pages.schedule import sessions as schedule
from web.render import STATIC_DIR

OPINION_CATEGORIES = category_handlers(opinion_categories.PAGE)
LEGAL_CATEGORIES = category_handlers(question_records.CATEGORY_PAGE)


def add_routes(router: web.UrlDispatcher) -> None:
    """Every route; a ``GET`` also answers ``HEAD``."""
    router.add_static("/static/", STATIC_DIR, name="static", append_version=True)
    # Operations
    router.add_get("/healthz", health.healthz, name="healthz")
    router.add_get("/metrics", health.metrics, name="metrics")
    # Signing in
    router.add_get("/login", auth.login_form, name="login")
    router.add_post("/login", auth.login)
    router.add_post("/logout", auth.logout, name="logout")
    router.add_get("/device", auth.device_form, name="device")
    router.add_post("/device", auth.device_sign_in)
    router.add_get("/lang/{code}", auth.set_language, name="language")
    # Dashboard
    router.add_get("/", dashboard.dashboard, name="dashboard")
    # Administration
    router.add_get("/admin/devices", admin.devices_page, name="admin_devices")
    router.add_post("/admin/devices", admin.issue_device)
    router.add_post("/admin/devices/{ident}/revoke", admin.revoke_device)
    router.add_get("/admin/audit", admin.audit_page, name="admin_audit")
    router.add_get("/admin/notices", notices_admin.admin_page, name="admin_notices")
    router.add_post("/admin/notices/channels", notices_admin.add_channel)
    router.add_get(r"/admin/notices/channels/{channel_id}", notices_admin.channel_page,
                   name="admin_notice_channel")
    router.add_post(r"/admin/notices/channels/{channel_id}", notices_admin.save_channel)
    router.add_post("/admin/notices/routes", notices_admin.save_routes)
    router.add_get("/admin/notices/log", notices_admin.log_page, name="admin_notice_log")
    router.add_post("/admin/notices/log/{outbox_id}/again", notices_admin.send_again)
    router.add_get("/admin/recordings", recordings.retention_page, name="admin_recordings")
    router.add_post("/admin/recordings", recordings.save_retention)
    router.add_get("/admin/{entity}", admin.list_page, name="admin_list")
    router.add_get("/admin/{entity}/{ident}", admin.form_page, name="admin_form")
    router.add_post("/admin/users/{ident}", admin.save_user)
    router.add_post("/admin/{entity}/{ident}", admin.save)
    router.add_post("/admin/{entity}/{ident}/{action:activate|deactivate}", admin.toggle_active)
    # Schedule
    router.add_get("/schedule", schedule.month_page, name="schedule")
    router.add_get("/schedule/sessions/{session_id}", schedule.session_page,
                   name="schedule_session")
    router.add_get(r"/schedule/sessions/{session_id}/recordings",
                   recordings.session_recordings_page, name="session_recordings")
    router.add_post("/schedule/sessions/{session_id}/cancel", schedule.cancel)
    router.add_post("/schedule/sessions/{session_id}/move", schedule.move)
    router.add_get("/schedule/changes", duty_changes.changes_page, name="schedule_changes")
    router.add_get("/schedule/changes/new", duty_changes.new_change_page,
                   name="schedule_change_new")
    router.add_post("/schedule/sessions/{session_id}/swap", duty_changes.request_swap)
    router.add_post("/schedule/sessions/{session_id}/override", duty_changes.request_override)
    router.add_post("/schedule/changes/{change_id}/{decision:accept|reject|withdraw}",
                    duty_changes.decide)
    router.add_get("/schedule/programmes", programmes.list_page, name="schedule_programmes")
    router.add_get("/schedule/programmes/{programme_id}", programmes.form_page)
    router.add_post("/schedule/programmes/{programme_id}", programmes.save)
    router.add_get("/schedule/programmes/{programme_id}/rotation", programmes.rotation_page)
    router.add_post("/schedule/programmes/{programme_id}/rotation", programmes.save_rotation)
    router.add_post("/schedule/programmes/{programme_id}/replan", programmes.replan_now)
    router.add_get("/schedule/workdays", workdays.year_page, name="schedule_workdays")
    router.add_post("/schedule/workdays", workdays.save_entry)
    router.add_post("/schedule/workdays/{day}/delete", workdays.delete_entry)
    router.add_post("/schedule/workdays/years/{year}", workdays.set_year)
    router.add_get("/schedule/feeds", feeds.tokens_page, name="schedule_feeds")
    router.add_post("/schedule/feeds", feeds.issue)
    router.add_post("/schedule/feeds/{feed_id}/revoke", feeds.revoke)
    router.add_get("/feeds/{token}.ics", feeds.feed, name="feed")
    # Inbox
    router.add_get("/inbox", inbox.inbox_page, name="inbox")
    router.add_post("/inbox/read-all", inbox.mark_all_read)
    router.add_get("/inbox/preferences", notices_admin.preferences_page,
                   name="inbox_preferences")
    router.add_post("/inbox/preferences", notices_admin.save_preferences)
    router.add_post("/inbox/{notification_id}/read", inbox.mark_read)
    # Opinions (the deputies' duty station)
    router.add_get("/opinions/categories", OPINION_CATEGORIES.list_page,
                   name="opinion_categories")
    router.add_post("/opinions/categories", OPINION_CATEGORIES.save)
    router.add_post(r"/opinions/categories/{category_id:\d+}", OPINION_CATEGORIES.save)
    router.add_get("/opinions/stats", opinion_stats.stats_page, name="opinion_stats")
    router.add_get("/opinions/stats.csv", opinion_stats.stats_csv)
    router.add_get("/opinions/stats.xlsx", opinion_stats.stats_xlsx)
    router.add_get("/opinions", opinions.list_page, name="opinions")
    router.add_get("/opinions/new", opinions.new_page, name="opinion_new")
    router.add_post("/opinions/new", opinions.create)
    router.add_get(r"/opinions/{ident:\d+}", opinions.detail_page, name="opinion")
    router.add_post(r"/opinions/{ident:\d+}/transition", opinions.transition)
    router.add_get(r"/opinions/photos/{ident:\d+}", opinions.photo, name="opinion_photo")
    # JSON API, its description and the Open311 view
    router.add_get("/api/opinions", opinion_api.list_opinions, name="api_opinions")
    router.add_post("/api/opinions", opinion_api.create_opinion)
    router.add_get("/api/opinions/categories", opinion_api.categories)
    router.add_get(r"/api/opinions/{ident:\d+}", opinion_api.get_opinion)
    router.add_post(r"/api/opinions/{ident:\d+}/transitions", opinion_api.transition_opinion)
    router.add_get("/api/openapi.json", openapi.openapi_json, name="openapi")
    router.add_get("/open311/v2/services.json", open311.services, name="open311_services")
    router.add_get("/open311/v2/requests.json", open311.requests, name="open311_requests")
    router.add_get(r"/open311/v2/requests/{ident:\d+}.json", open311.one_request,
                   name="open311_request")
    # The street's public board of results (no login)
    router.add_get("/board", board.board_page, name="board")
    router.add_get("/board.json", board.board_json, name="board_json")
    router.add_get(r"/board/photos/{ident:\d+}", board.board_photo, name="board_photo")
    # Legal consultation day
    router.add_get("/legal/categories", LEGAL_CATEGORIES.list_page, name="legal_categories")
    router.add_post("/legal/categories", LEGAL_CATEGORIES.save)
    router.add_post(r"/legal/categories/{category_id:\d+}", LEGAL_CATEGORIES.save)
    router.add_get("/legal", questions.index_page, name="legal")
    router.add_get("/legal/questions", questions.list_page, name="legal_questions")
    router.add_get("/legal/questions/new", questions.new_page, name="legal_question_new")
    router.add_post("/legal/questions/new", questions.submit)
    router.add_get(r"/legal/questions/{question_id:\d+}", questions.detail_page,
                   name="legal_question")
    router.add_get(r"/legal/files/{attachment_id:\d+}", questions.attachment, name="legal_file")
    router.add_get(r"/legal/sessions/{session_id:\d+}/queue", question_live.queue_page,
                   name="legal_queue")
    router.add_get(r"/legal/sessions/{session_id:\d+}/queue.json", question_live.queue_json,
                   name="legal_queue_json")
    router.add_get("/legal/queue.json", question_live.room_queue_json, name="legal_room_queue_json")
    router.add_post(r"/legal/sessions/{session_id:\d+}/live", question_live.raise_live_action)
    router.add_get(r"/legal/sessions/{session_id:\d+}/packet", question_live.packet_page,
                   name="legal_packet")
    router.add_post(r"/legal/sessions/{session_id:\d+}/packet", question_live.compile_now)
    router.add_get(r"/legal/sessions/{session_id:\d+}/packet.csv", question_live.packet_csv,
                   name="legal_packet_csv")
    router.add_post(r"/legal/questions/{question_id:\d+}/review", question_live.review_action)
    router.add_post(r"/legal/questions/{question_id:\d+}/now-answering",
                    question_live.now_answering_action)
    router.add_post(r"/legal/questions/{question_id:\d+}/answer", question_live.answer_action)
    router.add_get("/legal/board", question_records.board_page, name="legal_board")
    router.add_get("/legal/follow-ups", question_records.follow_ups_page, name="legal_follow_ups")
    router.add_post(r"/legal/follow-ups/{follow_up_id:\d+}", question_records.follow_up_update)
    router.add_get("/legal/stats", question_records.stats_page, name="legal_stats")
    # Residents' own channel: the site's QR poster (staff) and the resident's pages (public)
    router.add_get(r"/residents/sites/{ident:\d+}/poster", residents.poster_page,
                   name="resident_poster")
    router.add_get(r"/residents/sites/{ident:\d+}/qr.png", residents.qr_png,
                   name="resident_qr")
    router.add_post(r"/residents/sites/{ident:\d+}/rotate", residents.rotate)
    router.add_get("/r/status", residents.status_page, name="resident_status")
    router.add_post("/r/status", residents.status_lookup)
    router.add_post("/r/status/rate", residents.rate)
    router.add_get(r"/r/photos/{ident:\d+}", residents.result_photo, name="resident_photo")
    router.add_get("/r/{token}", residents.resident_page, name="resident")
    router.add_post("/r/{token}", residents.resident_submit)
    # Video rooms
    router.add_get("/rooms", room_pages.rooms_page, name="rooms")
    router.add_get("/rooms/{room}", room_pages.room_page, name="room")
    router.add_get("/rooms/{room}/attendance", room_pages.attendance_page, name="room_attendance")
    # Ad-hoc meetings, and attendance and chat per session or meeting
    router.add_post("/meetings", meeting_pages.start_meeting)
    router.add_get("/meetings/{meeting_id}", meeting_pages.meeting_page)
    router.add_post("/meetings/{meeting_id}/end", meeting_pages.end_meeting)
    for base in ("/meetings/{meeting_id}", "/schedule/sessions/{session_id}"):
        router.add_get(base + "/attendance", meeting_pages.attendance_page)
        router.add_get(base + "/attendance.csv", meeting_pages.attendance_csv)
        router.add_get(base + "/attendance.xlsx", meeting_pages.attendance_xlsx)
        router.add_get(base + "/chat", meeting_pages.chat_page)
        router.add_get(base + "/chat.csv", meeting_pages.chat_csv)
    router.add_get("/rooms/{room}/ws", room_socket.room_socket, name="room_socket")
    router.add_post(r"/rooms/{room}/chat/{message:[0-9a-f]{1,64}}/question",
                    room_chat.chat_question_action, name="room_chat_question")
    router.add_get("/internal/cluster/rooms/{room}/bridge", cluster_bridge.bridge_socket,
                   name="cluster_bridge")
    router.add_get("/rooms/{room}/ice-servers", room_socket.room_ice_servers,
                   name="room_ice_servers")
    # The site's standby screen (the meeting-room PC between sessions) and what it polls
    router.add_get("/standby", standby.standby_page, name="standby")
    router.add_get("/api/standby", standby.standby_json, name="api_standby")
    router.add_get("/rooms/{room}/recordings", recordings.room_recordings_page,
                   name="room_recordings")
    # Recordings: the list, the player, the file (range requests)
    router.add_get("/recordings", recordings.recordings_page, name="recordings")
    router.add_get(r"/recordings/{recording_id:\d+}", recordings.watch_page, name="recording")
    router.add_get(r"/recordings/{recording_id:\d+}/video", recordings.video,
                   name="recording_video")
    router.add_post("/rooms/{room}/documents", room_documents.upload_document,
                    name="room_documents")
    router.add_get("/rooms/{room}/documents", room_documents.recent_documents,
                   name="room_documents_recent")
    router.add_post(r"/rooms/{room}/documents/{document:[0-9a-f]{64}}",
                    room_documents.show_again, name="room_document_again")
