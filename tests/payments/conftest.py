"""The code-payment simulators' fixtures (also plugins of tests/conftest.py, for other test dirs)."""

from payments.alipay_sim import alipay_keys, alipay_sim  # noqa: F401
from payments.wechat_sim import wechat_sim  # noqa: F401
