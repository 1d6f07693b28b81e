"""The small parts of notices: settings, quiet hours, the limiter, signatures, sealing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.core.config import ConfigError, notice_settings_from_env
from server.notify import dingtalk, sealing, sms
from server.notify.routing import quiet_until
from server.notify.sender import Limiter, backoff

KEY = "test-secret-key-0123456789-0123456789-abcdef"


def test_notice_settings_come_from_the_environment_and_bad_ones_are_refused() -> None:
    s = notice_settings_from_env({"YIZHAN_SMTP_HOST": "mail.example.cn", "YIZHAN_SMTP_TLS": "tls",
                                  "YIZHAN_PUBLIC_URL": "https://yizhan.example.cn/",
                                  "YIZHAN_QUIET_HOURS": "22:30-07:00"})
    assert (s.smtp_host, s.smtp_port, s.smtp_tls, s.public_url, s.quiet_hours) == (
        "mail.example.cn", 465, "tls", "https://yizhan.example.cn", (22 * 60 + 30, 7 * 60))
    assert notice_settings_from_env({}).quiet_hours == (21 * 60, 8 * 60)
    assert notice_settings_from_env({"YIZHAN_QUIET_HOURS": "none"}).quiet_hours == (0, 0)
    for env in ({"YIZHAN_SMTP_TLS": "ssl"}, {"YIZHAN_QUIET_HOURS": "late"},
                {"YIZHAN_QUIET_HOURS": "25:00-08:00"}, {"YIZHAN_PUBLIC_URL": "yizhan.cn"},
                {"YIZHAN_SMTP_PORT": "70000"}):
        with pytest.raises(ConfigError):
            notice_settings_from_env(env)


@pytest.mark.parametrize(("utc_hour", "held_until_utc"), [
    (12, None),  # 20:00 in Shanghai
    (13, datetime(2026, 11, 26, 0, 0, tzinfo=UTC)),  # 21:00: held until 08:00
    (18, datetime(2026, 11, 26, 0, 0, tzinfo=UTC)),  # 02:00 the next day
    (23, datetime(2026, 11, 26, 0, 0, tzinfo=UTC)),  # 07:00
])
def test_quiet_hours_run_over_midnight_in_street_time(
    utc_hour: int, held_until_utc: datetime | None
) -> None:
    now = datetime(2026, 11, 25, utc_hour, 0, tzinfo=UTC)
    assert quiet_until(now, (21 * 60, 8 * 60), "Asia/Shanghai") == held_until_utc
    assert quiet_until(datetime(2026, 11, 26, 0, 0, tzinfo=UTC), (21 * 60, 8 * 60),
                       "Asia/Shanghai") is None
    assert quiet_until(now, (0, 0), "Asia/Shanghai") is None


def test_the_limiter_keeps_a_sliding_minute_per_robot() -> None:
    limiter, t0 = Limiter(), datetime(2026, 11, 25, tzinfo=UTC)
    assert [limiter.reserve(1, 20, t0 + timedelta(seconds=i)) for i in range(20)] == [0.0] * 20
    assert limiter.reserve(1, 20, t0 + timedelta(seconds=30)) == 30.0
    assert limiter.reserve(2, 20, t0 + timedelta(seconds=30)) == 0.0  # another robot
    assert limiter.reserve(1, 20, t0 + timedelta(seconds=60)) == 0.0
    assert limiter.reserve(1, 20, t0 + timedelta(seconds=60)) == 1.0


def test_backoff_doubles_up_to_an_hour() -> None:
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 8, 20)] == [30, 60, 120, 3600, 3600]


def test_the_alibaba_signature_matches_the_documented_example() -> None:
    params = {
        "AccessKeyId": "testId", "Action": "SendSms", "Format": "XML", "OutId": "123",
        "PhoneNumbers": "15300000001", "RegionId": "cn-hangzhou",
        "SignName": "阿里云短信测试专用", "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466", "SignatureVersion": "1.0",
        "TemplateCode": "SMS_71390007", "TemplateParam": '{"customer":"test"}',
        "Timestamp": "2017-07-12T02:42:19Z", "Version": "2017-05-25"}
    assert sms.signature(params, "testSecret") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="
    assert sms.percent("a b*c~") == "a%20b%2Ac~"


def test_the_dingtalk_signature_is_url_encoded_base64_of_hmac_sha256() -> None:
    signed = dingtalk.sign(1700000000000, "SECabc")
    assert signed.endswith("%3D") and "+" not in signed and "/" not in signed
    assert dingtalk.sign(1700000000000, "SECabc") == signed
    assert dingtalk.sign(1700000000001, "SECabc") != signed


def test_sealed_secrets_open_only_with_the_same_key_and_hints_show_four_characters() -> None:
    sealed = sealing.seal(KEY, {"key": "abcdefgh-1234"})
    assert sealed is not None and "abcdefgh" not in sealed
    assert sealing.unseal(KEY, sealed) == {"key": "abcdefgh-1234"}
    assert sealing.unseal(KEY.replace("a", "b"), sealed) == {}
    assert (sealing.hint("abcdefgh-1234"), sealing.hint("short"), sealing.hint("")) == (
        "••••1234", "••••", "")
