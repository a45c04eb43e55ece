"""The settings of issue 14 are checked at start-up, each refusal naming the variable."""
from __future__ import annotations

from datetime import time

import pytest

from config import Config, TestingConfig, parse_message_hours


def settings(**changes) -> dict:
    values = {name: getattr(TestingConfig, name) for name in dir(TestingConfig) if name.isupper()}
    return {**values, **changes}


def test_the_defaults_are_accepted():
    Config.validate(settings())


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"SMS_GATEWAY_URL": "https://sms.example/send", "PUBLIC_BASE_URL": ""}, "PUBLIC_BASE_URL"),
        ({"SMTP_HOST": "smtp.example", "PUBLIC_BASE_URL": ""}, "PUBLIC_BASE_URL"),
        ({"SMS_GATEWAY_URL": "file:///etc/passwd", "PUBLIC_BASE_URL": "https://desk.example"}, "SMS_GATEWAY_URL"),
        ({"MESSAGE_HOURS": "21:00-09:00"}, "MESSAGE_HOURS"),
        ({"MESSAGE_HOURS": "nine to nine"}, "MESSAGE_HOURS"),
        ({"REMINDER_HOURS_BEFORE": [24, 0]}, "REMINDER_HOURS_BEFORE"),
        ({"CONFIRM_RETRY_MINUTES": 0}, "CONFIRM_RETRY_MINUTES"),
        ({"CONFIRM_CALL_DAYS_BEFORE": -1}, "CONFIRM_CALL_DAYS_BEFORE"),
    ],
)
def test_a_setting_that_cannot_work_stops_start_up_by_name(changes, named):
    with pytest.raises(RuntimeError, match=named):
        Config.validate(settings(**changes))


def test_a_channel_with_the_public_address_is_accepted():
    Config.validate(settings(SMS_GATEWAY_URL="https://sms.example/send", PUBLIC_BASE_URL="https://desk.clinic.example"))


def test_message_hours_read_as_clinic_wall_times():
    assert parse_message_hours("08:30 - 20:00") == (time(8, 30), time(20))
