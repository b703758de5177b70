"""The intake as the engine sees it: transcripts of events, commands and bad input."""

from __future__ import annotations

from datetime import UTC, date

import pytest

from bot.reminders import ChangeWhat, Owner, ReminderIntake, what_from_form
from bot.reminders.models import ReminderKind
from bot.storage.base import StoredReminder
from bot.storage.sqlite import SqliteStorage
from tests.reminders.conftest import FakeClock, incoming, say, shanghai, text_of


def step_row(storage: SqliteStorage, step: str) -> StoredReminder:
    """u1's open reminder at `step`."""
    return next(r for r in storage.reminders.open_for_user("test", "u1") if r.step == step)


def open_rows(storage: SqliteStorage, user_id: str = "u1") -> list[tuple[str, str]]:
    rows = storage.reminders.open_for_user("test", user_id)
    return [(r.kind, r.step) for r in rows]


def test_sms_received_starts_the_24_hour_clock(
    intake: ReminderIntake, storage: SqliteStorage, clock: FakeClock
) -> None:
    replies = say(intake, "我刚收到管局的短信", clock())
    text = text_of(replies)
    assert "2026年11月26日 10:00" in text  # the window closes 24 h later, Beijing time
    assert "身份证号码后 6 位" in text and "输错 5 次" in text
    assert replies is not None and replies[0].choices[0].value == "/sms done"
    steps = [s for k, s in open_rows(storage) if k == ReminderKind.SMS_WINDOW]
    assert steps == ["h12", "h20", "h23", "expired"]
    # The SMS means the order is at the bureau: its 20-working-day clock runs too.
    assert (ReminderKind.BUREAU_WAIT, "due") in open_rows(storage)


def test_sms_reported_after_the_window_says_what_to_do_now(
    intake: ReminderIntake, storage: SqliteStorage, clock: FakeClock
) -> None:
    text = text_of(say(intake, "/sms 前天下午3点", clock()))
    assert "已在" in text and "重新提交" in text
    assert [s for k, s in open_rows(storage) if k == ReminderKind.SMS_WINDOW] == []


def test_vague_time_gets_a_question_not_a_guess(
    intake: ReminderIntake, storage: SqliteStorage, clock: FakeClock
) -> None:
    text = text_of(say(intake, "昨天下午收到短信了", clock()))
    assert "几点" in text and "/sms" in text
    assert open_rows(storage) == []


def test_sms_done_stops_the_window(
    intake: ReminderIntake, storage: SqliteStorage, clock: FakeClock
) -> None:
    say(intake, "/sms", clock())
    assert "24 小时时钟已停止" in text_of(say(intake, "短信核验完成了", clock()))
    assert all(k != ReminderKind.SMS_WINDOW for k, _ in open_rows(storage))


def test_change_made_yesterday(
    intake: ReminderIntake, storage: SqliteStorage, clock: FakeClock
) -> None:
    text = text_of(say(intake, "公司昨天改名了", clock()))
    assert "立即办理" in text and "2026年12月24日" in text
    assert [s for _, s in open_rows(storage)] == ["d7", "d20", "d27", "d29", "o31", "o38", "o45"]


def test_change_without_a_date_asks_for_it(
    intake: ReminderIntake, storage: SqliteStorage, clock: FakeClock
) -> None:
    text = text_of(say(intake, "公司改名了", clock()))
    assert "哪天" in text
    assert open_rows(storage) == []


def test_planned_change_and_the_dialogue_entry_point(
    intake: ReminderIntake, storage: SqliteStorage, clock: FakeClock
) -> None:
    owner = Owner.of(incoming())
    replies = intake.schedule_change(owner, ChangeWhat.DOMAIN, date(2027, 3, 1), clock())
    text = text_of(replies)
    assert "提前 30 日" in text and "2027年1月30日" in text and "新增网站" in text
    assert [s for _, s in open_rows(storage)] == ["d14", "d7", "d1", "d0"]
    # Reporting the same kind of change again replaces the clock, it does not add one.
    intake.schedule_change(owner, ChangeWhat.DOMAIN, date(2027, 4, 1), clock())
    assert len(open_rows(storage)) == 4


def test_ip_change_explains_no_refiling(
    intake: ReminderIntake, storage: SqliteStorage, clock: FakeClock
) -> None:
    text = text_of(say(intake, "/change IP 昨天", clock()))
    assert "不需要重新备案" in text and "接入备案" in text
    assert open_rows(storage) == []


def test_approval_gives_the_footer_snippet_and_ends_the_waiting_clocks(
    intake: ReminderIntake, storage: SqliteStorage, clock: FakeClock
) -> None:
    say(intake, "初审通过了", clock())
    text = text_of(say(intake, "备案下来了, 号是 粤ICP备2026012345号-1", clock()))
    assert '<a href="https://beian.miit.gov.cn/"' in text
    assert "text-align:center" in text and "粤ICP备2026012345号-1</a>" in text
    assert "不是法规要求" in text
    assert open_rows(storage) == [(ReminderKind.SELF_CHECK, "quarter")]


def test_subject_number_gets_the_website_number_note(
    intake: ReminderIntake, clock: FakeClock
) -> None:
    assert "-序号" in text_of(say(intake, "/approved 京ICP备16020626号", clock()))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/approved 广东ICP备2026012345号-1", "省份简称「粤」"),
        ("/approved 粤ICP备2026012345", "少了「号」"),
        ("/approved 京ICP证030173号-1", "经营许可证"),
        ("/approved 港ICP备123号", "不是省份简称"),
        ("/approved", "请把备案号发给我"),
        ("在浙江管局备案的，号是粤ICP备2026012345号-1", "你说是在浙江管局备案的"),
    ],
)
def test_bad_numbers_get_the_reason_and_a_valid_example(
    intake: ReminderIntake, storage: SqliteStorage, clock: FakeClock, text: str, expected: str
) -> None:
    reply = text_of(say(intake, text, clock()))
    assert expected in reply
    assert "ICP备2026012345号-1" in reply or "ICP备2026012345号" in reply
    assert open_rows(storage) == []


def test_a_fixable_number_offers_the_fix_as_a_button(
    intake: ReminderIntake, clock: FakeClock
) -> None:
    replies = say(intake, "/approved 粤ICP备2026012345", clock())
    assert replies is not None
    assert replies[0].choices[0].value == "/approved 粤ICP备2026012345号"


def test_dialogue_approval_checks_the_bureau_province(
    intake: ReminderIntake, clock: FakeClock
) -> None:
    owner = Owner.of(incoming())
    wrong = intake.record_approval(owner, "粤ICP备2026012345号-1", clock(), bureau_province="浙江")
    assert "浙江" in text_of(wrong)
    right = intake.record_approval(owner, "粤ICP备2026012345号-1", clock(), bureau_province="广东")
    assert "恭喜" in text_of(right)


def test_site_live_police_and_expiry(
    intake: ReminderIntake, storage: SqliteStorage, clock: FakeClock
) -> None:
    assert "beian.mps.gov.cn" in text_of(say(intake, "网站今天上线了", clock()))
    assert "挂到网站底部" in text_of(say(intake, "公安备案通过了", clock()))
    assert "到期前 30 天和 7 天" in text_of(say(intake, "域名2027年5月1日到期", clock()))
    assert "已在" in text_of(say(intake, "/expiry 服务器 2026-11-01", clock()))
    kinds = {k for k, _ in open_rows(storage)}
    assert kinds == {ReminderKind.POLICE_DISPLAY, ReminderKind.DOMAIN_EXPIRY}


def test_server_expiry_from_purchase_date(intake: ReminderIntake, clock: FakeClock) -> None:
    text = text_of(say(intake, "服务器是今年3月1日买的，买了1年", clock()))
    assert "2027年3月1日" in text and "12 个月" in text


def test_waiting_too_long_already_gets_the_advice_at_once(
    intake: ReminderIntake, clock: FakeClock
) -> None:
    text = text_of(say(intake, "/submitted 11月1日", clock()))
    assert "备案客服" in text and "核实电话" in text


def test_year_boundary_past_the_holiday_data_notes_the_estimate(
    intake: ReminderIntake, clock: FakeClock
) -> None:
    clock.set(shanghai(2026, 12, 28, 10, 0))
    text = text_of(say(intake, "初审今天通过了", clock()))
    assert "2027 年的法定节假日安排我还没有数据" in text


def test_questions_are_left_to_the_faq(intake: ReminderIntake, clock: FakeClock) -> None:
    assert say(intake, "换域名要重新备案吗", clock()) is None
    assert say(intake, "备案要多久", clock()) is None


def test_reminders_lists_clocks_with_beijing_times(
    intake: ReminderIntake, clock: FakeClock
) -> None:
    assert "没有提醒" in text_of(say(intake, "/reminders", clock()))
    say(intake, "公司昨天改名了", clock())
    text = text_of(say(intake, "/reminders", clock()))
    assert "主体信息变更备案（变更后 30 日内）：下次 2026年12月1日 10:00" in text
    assert "之后还有 6 次" in text and "/remind cancel" in text


def test_done_cancel_and_snooze(
    intake: ReminderIntake, storage: SqliteStorage, clock: FakeClock
) -> None:
    say(intake, "公司昨天改名了", clock())
    first = storage.reminders.open_for_user("test", "u1")[0]
    text = text_of(say(intake, f"/remind snooze {first.id} 1d", clock()))
    assert "2026年12月2日 10:00" in text
    assert "不再提醒" in text_of(say(intake, f"/remind cancel {first.id}", clock()))
    assert open_rows(storage) == []
    assert "没有找到" in text_of(say(intake, f"/remind done {first.id}", clock()))


def test_sms_snooze_stops_before_the_window_closes(
    intake: ReminderIntake, storage: SqliteStorage, clock: FakeClock
) -> None:
    say(intake, "/sms", clock())
    h23 = step_row(storage, "h23")
    text = text_of(say(intake, f"/remind snooze {h23.id} 3h", clock()))
    assert "2026年11月26日 09:45" in text  # clamped to 15 minutes before the close
    clock.advance(hours=23, minutes=50)
    assert "不能再推迟" in text_of(say(intake, f"/remind snooze {h23.id} 1h", clock()))


def test_an_approval_says_which_filing_comes_next(
    intake: ReminderIntake, clock: FakeClock
) -> None:
    text = text_of(say(intake, "备案下来了，号是粤ICP备2026012345号-1", clock()))
    for kind in ("「新增网站」", "「接入备案」", "「变更备案」", "「注销」"):
        assert kind in text


def test_a_capped_snooze_says_it_was_capped_and_why(
    intake: ReminderIntake, storage: SqliteStorage, clock: FakeClock
) -> None:
    say(intake, "/sms", clock())
    h20 = step_row(storage, "h20")
    capped = text_of(say(intake, f"/remind snooze {h20.id} 1d", clock()))
    assert "最晚只能推迟到 2026年11月26日 09:45" in capped and "截止时间" in capped
    # A day deadline (30 days after a change) keeps the reminder on that day's morning.
    say(intake, "公司昨天改名了", clock())
    d29 = step_row(storage, "d29")
    capped = text_of(say(intake, f"/remind snooze {d29.id} 3d", clock()))
    assert "最晚只能推迟到 2026年12月24日 10:00" in capped
    d7 = step_row(storage, "d7")
    plain = text_of(say(intake, f"/remind snooze {d7.id} 1d", clock()))
    assert "最晚" not in plain and "推迟到" in plain


@pytest.mark.parametrize(
    ("report", "kind"),
    [
        ("我刚收到管局的短信", "sms_window"),
        ("初审通过了", "bureau_wait"),
        ("备案订单提交了", "first_review_wait"),
    ],
)
def test_a_step_before_approval_reported_after_it_is_asked_about(
    intake: ReminderIntake, storage: SqliteStorage, clock: FakeClock, report: str, kind: str
) -> None:
    say(intake, "备案下来了，号是粤ICP备2026012345号-1", clock())
    before = open_rows(storage)
    replies = say(intake, report, clock())
    assert "已经下来了（粤ICP备2026012345号-1）" in text_of(replies)
    assert open_rows(storage) == before  # nothing stacked on the approved filing
    assert replies is not None
    new = replies[0].choices[0].value
    say(intake, new, clock())  # "yes, a new filing or a change": the clock starts
    assert kind in {k for k, _ in open_rows(storage)}


def test_someone_else_cannot_touch_my_reminder_in_a_group(
    intake: ReminderIntake, storage: SqliteStorage, clock: FakeClock
) -> None:
    say(intake, "公司昨天改名了", clock(), chat_id="g1", group=True)
    row = storage.reminders.open_for_user("test", "u1")[0]
    reply = say(
        intake, f"/remind cancel {row.id}", clock(), user_id="u2", chat_id="g1", group=True
    )
    assert "只有设置提醒的人" in text_of(reply)
    assert len(open_rows(storage)) == 7


def test_in_a_group_reminders_lists_only_that_groups(
    intake: ReminderIntake, clock: FakeClock
) -> None:
    say(intake, "公司昨天改名了", clock())  # private
    say(intake, "网站今天上线了", clock(), chat_id="g1", group=True)
    text = text_of(say(intake, "/reminders", clock(), chat_id="g1", group=True))
    assert "公安联网备案" in text and "主体信息" not in text


def test_forget_deletes_reminders(
    intake: ReminderIntake, storage: SqliteStorage, clock: FakeClock
) -> None:
    say(intake, "公司昨天改名了", clock())
    assert storage.forget_user("test", "u1") == 7
    assert open_rows(storage) == []


@pytest.mark.parametrize(
    "text",
    [
        "/remind",
        "/remind done",
        "/remind done abc",
        "/remind snooze 1 99y",
        "/remind explode 1",
        "/remind done 99999999999999999999",
        "/change",
        "/change 域名 下个月",
        "/expiry",
        "/expiry 域名",
        "/sms 下午",
        "/sms 2026-13-45",
        "/submitted 每周一",
        "/live 😀😀😀",
        "/approved '; DROP TABLE reminders; --",
        "/approved " + "粤" * 5000,
        "/returned \x00\x01",
        "收到短信了" + "啊" * 100_000,
    ],
)
def test_bad_input_never_raises_and_explains(
    intake: ReminderIntake, storage: SqliteStorage, clock: FakeClock, text: str
) -> None:
    replies = say(intake, text, clock())
    assert replies is not None and replies[0].text
    assert storage.db["reminders"].exists()


def test_a_failure_inside_is_a_reply_not_a_crash(
    intake: ReminderIntake, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire 13800138000")

    monkeypatch.setattr(intake.store, "schedule", boom)
    text = text_of(say(intake, "公司昨天改名了", clock()))
    assert "没有设置成功" in text and "例如" in text


def test_every_time_shown_is_beijing_time(intake: ReminderIntake, clock: FakeClock) -> None:
    clock.set(shanghai(2026, 11, 25, 23, 30).astimezone(UTC))  # 15:30 UTC
    text = text_of(say(intake, "/sms", clock()))
    assert "2026年11月25日 23:30" in text and "15:30" not in text


def test_the_change_forms_values_map_to_clocks() -> None:
    assert what_from_form("subject") is ChangeWhat.SUBJECT
    assert what_from_form("remove_domain") is ChangeWhat.DOMAIN
    assert what_from_form("provider") is ChangeWhat.PROVIDER
    assert what_from_form("add_domain") is None  # a new website, not a change


DECEMBER = FakeClock(shanghai(2026, 12, 2, 10, 0).astimezone(UTC))


@pytest.mark.parametrize(
    ("text", "change_day"),
    [
        ("公司1月15号要改名", "2027年1月15日"),
        ("准备1月15日换接入商", "2027年1月15日"),
        ("网站名称打算2月1日改", "2027年2月1日"),
        ("公司1月15号改名", "2027年1月15日"),  # no tense: the clearly nearer date
        ("公司11月20号改名了", "2026年11月20日"),
        ("公司已经在1月15日改名了", "2026年1月15日"),
    ],
)
def test_a_change_date_without_a_year_is_in_the_year_the_tense_says(
    intake: ReminderIntake, text: str, change_day: str
) -> None:
    reply = text_of(say(intake, text, DECEMBER()))
    assert change_day in reply
    planned = change_day.startswith("2027")
    assert ("计划在" in reply) is planned
    # a plan is never reported as a missed deadline after the change
    assert not (planned and "已超过" in reply)


@pytest.mark.parametrize("text", ["公司6月1号改名", "网站名称6月10日改"])
def test_a_year_less_date_half_a_year_either_way_gets_a_question(
    intake: ReminderIntake, storage: SqliteStorage, text: str
) -> None:
    reply = text_of(say(intake, text, DECEMBER()))
    assert "没写年份" in reply
    assert open_rows(storage) == []


@pytest.mark.parametrize("number", ["99999999999999999999", "9223372036854775808", "0"])
def test_a_reminder_number_out_of_range_is_not_found(
    intake: ReminderIntake, clock: FakeClock, number: str
) -> None:
    for action in ("done", "cancel", "snooze"):
        assert "没有找到" in text_of(say(intake, f"/remind {action} {number}", clock()))
