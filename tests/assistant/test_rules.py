"""Fee and limit rules at their boundaries."""
import pytest

from lib.assistant.rules import DEFAULT_RULES, AmountOutOfRange, BusinessRules, format_fcfa, format_rate

R = DEFAULT_RULES


@pytest.mark.parametrize("amount,src,dst,fee,capped", [
    (100, "mtn", "mtn", 25, "min"),            # smallest allowed amount: 1 FCFA at 1 % → minimum fee
    (100, "mtn", "orange", 25, "min"),
    (2_500, "mtn", "mtn", 25, None),            # exactly the minimum fee at 1 %, not capped
    (2_600, "mtn", "mtn", 26, None),
    (1_250, "wave", "moov", 25, None),          # 2 % of 1 250 = 25
    (1_251, "wave", "moov", 26, None),          # ceil(25.02)
    (50_000, "orange", "orange", 500, None),    # exactly the maximum fee at 1 %
    (50_001, "orange", "orange", 500, "max"),
    (25_000, "orange", "mtn", 500, None),       # exactly the maximum at 2 %
    (25_001, "orange", "mtn", 500, "max"),
    (1_500_000, "tresor", "wave", 500, "max"),  # largest allowed amount
])
def test_fee_at_boundaries(amount, src, dst, fee, capped):
    q = R.quote(amount, src, dst)
    assert (q.fee, q.capped) == (fee, capped)
    assert q.total == amount + fee
    assert R.min_fee <= q.fee <= R.max_fee


@pytest.mark.parametrize("amount,reason", [(99, "below_min"), (0, "below_min"), (1_500_001, "above_max"),
                                           (2_000_000, "above_max")])
def test_amounts_outside_the_limits_are_refused(amount, reason):
    with pytest.raises(AmountOutOfRange) as err:
        R.quote(amount, "mtn", "orange")
    assert err.value.reason == reason
    assert R.check_amount(amount) == reason
    assert R.possible_fees(amount) == set()


def test_limits_are_inclusive():
    assert R.check_amount(100) is None and R.check_amount(1_500_000) is None


def test_rate_choice_is_explicit_and_configurable():
    assert R.rate_for("MTN", "momo") == 0.01  # aliases of the same operator
    assert R.rate_for("Orange Money", "Wave") == 0.02
    flat = BusinessRules(same_operator_rate=0.015, cross_operator_rate=0.015)
    assert flat.quote(10_000, "mtn", "mtn").fee == flat.quote(10_000, "mtn", "wave").fee == 150
    assert R.possible_fees(10_000) == {100, 200}  # operators unknown: both rates possible


def test_operator_aliases_and_unknown_operator():
    assert R.operator("flooz").name == "Moov"
    assert R.operator("tresor money").name == "Trésor Money"
    with pytest.raises(KeyError, match="unknown operator"):
        R.operator("airtel")


def test_invalid_rules_are_rejected():
    with pytest.raises(ValueError):
        BusinessRules(min_fee=600, max_fee=500)
    with pytest.raises(ValueError):
        BusinessRules(same_operator_rate=1.5)


def test_formatting():
    assert format_fcfa(1_500_000) == "1 500 000 FCFA"
    assert format_rate(0.01) == "1 %" and format_rate(0.015) == "1,5 %"
