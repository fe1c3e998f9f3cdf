"""Contact and payment details in messages are found and masked (no database)."""

from __future__ import annotations

import pytest

from marketplace.contact_screening import MASK, screen


@pytest.mark.parametrize(
    ("text", "kind", "hidden"),
    [
        ("加我电话 138 1234 5678 细聊", "phone", "13812345678"),
        ("call +86-139-0000-1111", "phone", "139-0000-1111"),
        ("座机 021-64871234", "phone", "64871234"),
        ("微信号: wxid_abc123 转账更快", "wechat", "wxid_abc123"),
        ("加V信：Xunhuan_88", "wechat", "Xunhuan_88"),
        ("alipay: buyer.lee@example.com", "alipay", "buyer.lee@example.com"),
        ("支付宝账号 13900001111", "alipay", "13900001111"),
        ("QQ 123456789", "qq", "123456789"),
        ("卡号 6222 0212 3456 7890 128 直接打款", "bank_card", "6222 0212 3456 7890 128"),
        ("card 4242-4242-4242-4242 thanks", "bank_card", "4242-4242-4242-4242"),
    ],
)
def test_contact_and_payment_details_are_masked(text, kind, hidden):
    result = screen(text)
    assert kind in result.flags
    assert hidden not in result.masked
    assert MASK in result.masked


def test_ordinary_messages_pass_unchanged():
    for text in ("还在吗？能便宜点吗", "ISBN 9787020002207, 2019 edition", "尺寸 80×48×100 cm，重 25 kg", "¥4500"):
        result = screen(text)
        assert result.masked == text
        assert result.flags == ()


def test_a_number_that_fails_the_luhn_check_is_not_a_card():
    assert screen("订单号 1234567890123456").flags == ()


def test_several_kinds_are_all_reported_in_a_stable_order():
    result = screen("微信 hello_world 或者 13812345678")
    assert result.flags == ("phone", "wechat")
    assert "hello_world" not in result.masked and "13812345678" not in result.masked
