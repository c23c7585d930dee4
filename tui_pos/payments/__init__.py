"""Code-payment gateways (Alipay barcode pay, WeChat Pay code pay) behind one interface,
app.ports.CodeGateway: each adapter turns its provider's wire answers into a
domain.payments.GatewayReply. The SDKs are imported lazily, when a gateway is first used."""
