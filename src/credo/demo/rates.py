"""How often each kind of record happens in the synthetic town.

Rates are over the three years before the as-of date. ``share`` is the
fraction of subjects of that kind with at least one such record in those
three years; ``events`` is the mean number of records of a subject that has
any. Propensity varies between subjects (a subject's chance of a further
record is drawn uniformly between none and twice the mean), so repeat
offenders and keen volunteers exist, as they do in real data.

Persons (adults 18 to 80):

==============================  ======  ======  ===========================================================
category                        share   events  basis (public figure, or a stated assumption)
==============================  ======  ======  ===========================================================
traffic.violation               25%     2.0     ~37% of people hold a licence (523 M drivers, MPS 2023);
                                                about 1 in 10 people ticketed a year
traffic.drunk_driving           0.1%    1.0     ~300,000 dangerous-driving convictions a year nationally
tax.late_payment                3%      1.3     assumption: self-employed and annual reconciliation filers
tax.evasion                     0.06%   1.0     assumption: rare for individuals
loan.overdue                    6%      1.5     consumer loans 90+ days overdue: ~2% of people a year
loan.default                    1.2%    1.1     written-off consumer credit: ~0.4% a year
court.judgment_default          1.2%    1.2     SPC list holds ~8 M people at a time (~0.6% of adults, 2-year
                                                term): ~0.4% of people newly listed a year
court.enforcement_evasion       0.1%    1.0     assumption: a small fraction of judgment debtors
platform.fraud_adjudicated      0.3%    1.1     assumption: adjudicated (not merely reported) fraud is rare
civic.volunteer_service         15%     60      230 M registered volunteers (~16% of the population);
                                                assumption: an active one logs ~1.7 services a month
civic.blood_donation            2.5%    1.8     ~11-12 donations per 1,000 people a year nationally
==============================  ======  ======  ===========================================================

Organisations:

==============================  ======  ======  ===========================================================
category                        share   events  basis
==============================  ======  ======  ===========================================================
tax.late_payment                25%     2.0     assumption: late filing or payment is common for small firms
tax.evasion                     1%      1.0     assumption
tax.a_grade_taxpayer            15%     2.0     annual rating published in April; about 1 firm in 7 rated A
loan.overdue                    6%      1.5     small-business NPL ratios of a few per cent
loan.default                    1.5%    1.0     assumption
court.judgment_default          3%      1.3     firms are judgment debtors more often than people
court.enforcement_evasion       0.3%    1.0     assumption
market.abnormal_operations      20%     1.2     annual reports not filed: several per cent of entities a year
market.administrative_penalty   6%      1.2     assumption: ~2% of firms fined a year
platform.fraud_adjudicated      1%      1.1     assumption
==============================  ======  ======  ===========================================================

Amounts (where a category has them) are drawn log-uniformly between ``amount``
bounds chosen to cross the demo rulebook's tiers. ``resolved`` is the
fraction of records later resolved (paid, performed, corrected), after
``resolve_days`` days; a resolution after the as-of date is not known yet.
At the default size (100,000 people and 10,000 organisations) this gives
about a million records.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CATEGORIES", "SOURCES", "YEARS", "CategoryRate"]

YEARS = 3  # records are spread over the three years before the as-of date

# source id -> short code used in record ids and references
SOURCES = {
    "tax-authority": "TAX",
    "people-court": "CRT",
    "bank-consortium": "BNK",
    "market-regulator": "MKT",
    "traffic-police": "TRF",
    "civil-affairs": "CIV",
    "online-platform": "PLT",
}


@dataclass(frozen=True)
class CategoryRate:
    source: str
    category: str
    kind: str  # person | organization
    share: float
    events: float
    amount: tuple[float, float] | None = None
    resolved: float = 0.0
    resolve_days: tuple[int, int] = (1, 30)
    annual: bool = False  # dated on the yearly publication day instead of spread over the year
    reference: str | None = None  # prefix of the source's case or document number

    @property
    def negative(self) -> bool:
        return not self.category.startswith("civic.") and self.category != "tax.a_grade_taxpayer"


PER, ORG = "person", "organization"
TAX, COURT, BANK, MARKET = "tax-authority", "people-court", "bank-consortium", "market-regulator"
TRAFFIC, CIVIL, PLATFORM = "traffic-police", "civil-affairs", "online-platform"

CATEGORIES: tuple[CategoryRate, ...] = (
    # persons
    CategoryRate(TRAFFIC, "traffic.violation", PER, 0.25, 2.0, (20, 2000), 0.95, (1, 30), reference="TICKET"),
    CategoryRate(TRAFFIC, "traffic.drunk_driving", PER, 0.001, 1.0, (1000, 5000), reference="TICKET"),
    CategoryRate(TAX, "tax.late_payment", PER, 0.03, 1.3, (200, 150_000), 0.85, (1, 60), reference="SHUIJI"),
    CategoryRate(TAX, "tax.evasion", PER, 0.0006, 1.0, (20_000, 2_000_000), 0.5, (30, 400), reference="SHUICHU"),
    CategoryRate(BANK, "loan.overdue", PER, 0.06, 1.5, (2_000, 800_000), 0.6, (10, 200)),
    CategoryRate(BANK, "loan.default", PER, 0.012, 1.1, (10_000, 1_500_000), 0.1, (100, 700)),
    CategoryRate(COURT, "court.judgment_default", PER, 0.012, 1.2, (2_000, 500_000), 0.45, (10, 500), reference="ZHI"),
    CategoryRate(
        COURT, "court.enforcement_evasion", PER, 0.001, 1.0, (10_000, 1_000_000), 0.2, (30, 600), reference="ZHI"
    ),
    CategoryRate(
        PLATFORM, "platform.fraud_adjudicated", PER, 0.003, 1.1, (500, 200_000), 0.3, (10, 300), reference="CASE"
    ),
    CategoryRate(CIVIL, "civic.volunteer_service", PER, 0.15, 60.0),
    CategoryRate(CIVIL, "civic.blood_donation", PER, 0.025, 1.8),
    # organisations
    CategoryRate(TAX, "tax.late_payment", ORG, 0.25, 2.0, (1_000, 500_000), 0.85, (1, 60), reference="SHUIJI"),
    CategoryRate(TAX, "tax.evasion", ORG, 0.01, 1.0, (50_000, 5_000_000), 0.5, (30, 400), reference="SHUICHU"),
    CategoryRate(TAX, "tax.a_grade_taxpayer", ORG, 0.15, 2.0, annual=True),
    CategoryRate(BANK, "loan.overdue", ORG, 0.06, 1.5, (20_000, 2_000_000), 0.6, (10, 200)),
    CategoryRate(BANK, "loan.default", ORG, 0.015, 1.0, (100_000, 10_000_000), 0.1, (100, 700)),
    CategoryRate(
        COURT, "court.judgment_default", ORG, 0.03, 1.3, (10_000, 5_000_000), 0.45, (10, 500), reference="ZHI"
    ),
    CategoryRate(
        COURT, "court.enforcement_evasion", ORG, 0.003, 1.0, (50_000, 5_000_000), 0.2, (30, 600), reference="ZHI"
    ),
    CategoryRate(MARKET, "market.abnormal_operations", ORG, 0.20, 1.2, None, 0.7, (10, 180), reference="YICHANG"),
    CategoryRate(
        MARKET, "market.administrative_penalty", ORG, 0.06, 1.2, (5_000, 2_000_000), 0.8, (5, 120), reference="CHUFA"
    ),
    CategoryRate(
        PLATFORM, "platform.fraud_adjudicated", ORG, 0.01, 1.1, (2_000, 500_000), 0.3, (10, 300), reference="CASE"
    ),
)
