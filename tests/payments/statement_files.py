"""Statement files in the providers' real formats, written from a test's trades (the samples in
tests/payments/statements/ show the same formats by hand): Alipay's business detail (GBK, '#'
lines, tab-padded cells, its totals) and WeChat Pay's trade bill (backtick cells, totals)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Trade:
    """One row: a charge (kind pay) or a refund of it; amount in fen; at: 'YYYY-MM-DD HH:MM:SS' Beijing time."""

    out_trade_no: str
    transaction_id: str
    amount: int
    at: str
    kind: str = "pay"
    out_refund_no: str = ""
    refund_id: str = ""


def yuan(fen: int) -> str:
    return f"{'-' if fen < 0 else ''}{abs(fen) // 100}.{abs(fen) % 100:02d}"


ALIPAY_HEADER = ("支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,"
                 "订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,"
                 "券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注")


def alipay_bill(trades: list[Trade], day: date) -> bytes:
    end = date.fromordinal(day.toordinal() + 1)
    lines = ["#支付宝业务明细查询", "#账号：[20880000000000000156]",
             f"#起始日期：[{day:%Y年%m月%d日} 00:00:00]   终止日期：[{end:%Y年%m月%d日} 00:00:00]",
             "#-----------------------------------------业务明细列表----------------------------------------",
             ALIPAY_HEADER]
    pays = [t for t in trades if t.kind == "pay"]
    refunds = [t for t in trades if t.kind == "refund"]
    for t in trades:
        received = yuan(t.amount if t.kind == "pay" else -t.amount)
        cells = [t.transaction_id, t.out_trade_no, "交易" if t.kind == "pay" else "退款", "商品", t.at, t.at, "", "", "",
                 "", "abc***@163.com", yuan(t.amount), received, "0.00", "0.00", "0.00", "0.00", "0.00", "", "0.00",
                 "0.00", t.out_refund_no, "0.00", "0.00", ""]
        lines.append(",".join(cell + "\t" for cell in cells))
    lines += ["#-----------------------------------------业务明细列表结束------------------------------------",
              f"#交易合计：{len(pays)}笔，商家实收共{yuan(sum(t.amount for t in pays))}元，商家优惠共0.00元",
              f"#退款合计：{len(refunds)}笔，商家实收共{yuan(-sum(t.amount for t in refunds))}元，商家优惠共0.00元",
              f"#导出时间：[{end:%Y年%m月%d日} 10:12:13]", ""]
    return "\r\n".join(lines).encode("gbk")


WECHAT_HEADER = ("交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,"
                 "应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,"
                 "商户数据包,手续费,费率,订单金额,申请退款金额,费率备注")


def wechat_bill(trades: list[Trade]) -> bytes:
    lines = [WECHAT_HEADER]
    for t in trades:
        pay = t.kind == "pay"
        cells = [t.at, "wx2421b1c4370ec43b", "1900000109", "0", "T1", t.transaction_id, t.out_trade_no, "oUpF8uMu",
                 "MICROPAY", "SUCCESS" if pay else "REFUND", "OTHERS", "CNY", yuan(t.amount) if pay else "0.00", "0.00",
                 "0" if pay else t.refund_id, "0" if pay else t.out_refund_no, "0.00" if pay else yuan(t.amount),
                 "0.00", "" if pay else "ORIGINAL", "" if pay else "SUCCESS", "商品", "", "0.00000", "0.60%",
                 yuan(t.amount) if pay else "0.00", "0.00" if pay else yuan(t.amount), ""]
        lines.append(",".join("`" + cell for cell in cells))
    settled = sum(t.amount for t in trades if t.kind == "pay")
    refunded = sum(t.amount for t in trades if t.kind == "refund")
    lines += ["总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额",
              f"`{len(trades)},`{yuan(settled)},`{yuan(refunded)},`0.00,`0.00000,`{yuan(settled)},`{yuan(refunded)}", ""]
    return "\r\n".join(lines).encode("utf-8")
