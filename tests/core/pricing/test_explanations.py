"""Every charge explains itself exactly, in Russian and English, with its formula: one charge of each
charge model (the examples of ``test_spec_json``), a component topped up to its minimum, a meter and
events as usage, and a plan's period with proration, a minimum commitment and a setup fee — compared
whole in their JSON form (what the API answers and a document shows).

The amounts, hand-computed:
* standard: 1250 × 0.0025 = 3.125 → 3.13 (a tie, rounded half-up);
* graduated (10 included, minimum 100.00): 150 → 140 billable: 100 × 5.00 + (40 × 4.00 + 50.00) = 710.00;
  12 → 2 billable: 2 × 5.00 = 10.00, topped up by 90.00 to the minimum;
* volume: 12 seats fall in [10, ∞): 12 × 400.00 = 4800.00;
* package (100 included): 2150 → 2050 → ⌈2050 / 1000⌉ = 3 packages × 900.00 = 2700.00;
* tiered package: 12500 → 10 packages × 100.00 + ⌈2500 / 1000⌉ = 3 × 80.00 = 1240.00;
* graduated percentage: 2 % of 100000 + (1.5 % of 50000 + 500.00) = 2000.00 + 1250.00 = 3250.00;
* stairstep: the 10th (last) user is in the range [0, 10): 1000.00;
* percentage (2.9 % + 0.30, 1 free transaction, 8.00 free amount, each within [0.50, 100.00]) of 3, 5, 10, 5,
  5000: 3 is free (count), 5 is free (amount, 3.00 left), 10 pays on 7; charged 7 + 5 + 5000 = 5012 →
  145.348 → 145.35, fees 3 × 0.30 = 0.90; 5 costs 0.445 → raised by 0.055, 5000 costs 145.30 → cut by
  45.30: round(145.348 + 0.90 + 0.055 − 45.30) = 101.00, the limits line −45.25;
* meter: 99990 → 10 over the 100000 dial (20), replaced at 15 (5), new meter 2 → 7 (5): 30 × 45.50 = 1365.00.

The counted nouns agree with their numbers in both languages ("2 транзакции", "по 1 транзакции",
"1 duplicate", "1 free transaction"; the limits line names its counts after a dash, which agrees with
any number).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from kopeck.core.periods import Period
from kopeck.core.pricing import ComponentSpec, MeterReading, Usage, UsageEvent, evaluate
from kopeck.core.pricing.plan import PlanSpec, price_plan
from tests.core.pricing.test_plan import plan_json
from tests.core.pricing.test_spec_json import EXAMPLES

CHARGES: dict[tuple[str, str], dict[str, Any]] = {
    ('standard', '1250'): {'component': 'api_calls',
     'model': 'standard',
     'quantity': '1250',
     'billable_quantity': '1250',
     'currency': 'RUB',
     'amount': '3.13',
     'lines': [{'kind': 'units',
                'label': 'units',
                'tier': None,
                'units': '1250',
                'unit_price': '0.0025',
                'flat_fee': '0',
                'amount': '3.13',
                'explanation': {'ru': '1250 ед. × 0.0025 = 3.13 RUB',
                                'en': '1250 units × 0.0025 = 3.13 RUB',
                                'formula': 'units × unit price = 1250 × 0.0025 = 3.13'}}],
     'explanation': {'ru': 'api_calls: модель standard, количество 1250, итого 3.13 RUB',
                     'en': 'api_calls: standard model, quantity 1250, total 3.13 RUB',
                     'formula': '3.13 = 3.13'},
     'usage_explanation': None},
    ('graduated', '150'): {'component': 'storage',
     'model': 'graduated',
     'quantity': '150',
     'billable_quantity': '140',
     'currency': 'RUB',
     'amount': '710.00',
     'lines': [{'kind': 'included',
                'label': 'included units',
                'tier': None,
                'units': '10',
                'unit_price': '0',
                'flat_fee': '0',
                'amount': '0.00',
                'explanation': {'ru': 'Включено в тариф: 10 из 10 бесплатных ед.',
                                'en': 'Included: 10 of 10 free units used',
                                'formula': 'free units used = min(included 10, quantity 150) = 10'}},
               {'kind': 'tier',
                'label': 'tier 1 [0, 100)',
                'tier': 0,
                'units': '100',
                'unit_price': '5.00',
                'flat_fee': '0',
                'amount': '500.00',
                'explanation': {'ru': 'Ступень 1 [0, 100): 100 ед. × 5.00 = 500.00 RUB',
                                'en': 'Tier 1 [0, 100): 100 units × 5.00 = 500.00 RUB',
                                'formula': 'tier 1: units in tier × unit price + flat fee = 100 × 5.00 + 0 = '
                                           '500.00'}},
               {'kind': 'tier',
                'label': 'tier 2 [100, ∞)',
                'tier': 1,
                'units': '40',
                'unit_price': '4.00',
                'flat_fee': '50.00',
                'amount': '210.00',
                'explanation': {'ru': 'Ступень 2 [100, ∞): 40 ед. × 4.00 + фикс. плата 50.00 = 210.00 RUB',
                                'en': 'Tier 2 [100, ∞): 40 units × 4.00 + flat fee 50.00 = 210.00 RUB',
                                'formula': 'tier 2: units in tier × unit price + flat fee = 40 × 4.00 + 50.00 = '
                                           '210.00'}}],
     'explanation': {'ru': 'Storage, GB: модель graduated, количество 150 (включено 10, к оплате 140), итого 710.00 '
                           'RUB',
                     'en': 'Storage, GB: graduated model, quantity 150 (10 included, 140 billable), total 710.00 RUB',
                     'formula': '0.00 + 500.00 + 210.00 = 710.00'},
     'usage_explanation': None},
    ('volume', '12'): {'component': 'seats',
     'model': 'volume',
     'quantity': '12',
     'billable_quantity': '12',
     'currency': 'RUB',
     'amount': '4800.00',
     'lines': [{'kind': 'volume',
                'label': 'volume tier 2 [10, ∞)',
                'tier': 1,
                'units': '12',
                'unit_price': '400.00',
                'flat_fee': '0',
                'amount': '4800.00',
                'explanation': {'ru': 'Объём 12 ед. попадает в ступень 2 [10, ∞), её цена — для всех единиц: 12 × '
                                      '400.00 = 4800.00 RUB',
                                'en': 'Volume of 12 units falls in tier 2 [10, ∞), priced for all units: 12 × 400.00 '
                                      '= 4800.00 RUB',
                                'formula': 'all units × tier 2 unit price + flat fee = 12 × 400.00 + 0 = 4800.00'}}],
     'explanation': {'ru': 'seats: модель volume, количество 12, итого 4800.00 RUB',
                     'en': 'seats: volume model, quantity 12, total 4800.00 RUB',
                     'formula': '4800.00 = 4800.00'},
     'usage_explanation': None},
    ('package', '2150'): {'component': 'sms',
     'model': 'package',
     'quantity': '2150',
     'billable_quantity': '2050',
     'currency': 'RUB',
     'amount': '2700.00',
     'lines': [{'kind': 'included',
                'label': 'included units',
                'tier': None,
                'units': '100',
                'unit_price': '0',
                'flat_fee': '0',
                'amount': '0.00',
                'explanation': {'ru': 'Включено в тариф: 100 из 100 бесплатных ед.',
                                'en': 'Included: 100 of 100 free units used',
                                'formula': 'free units used = min(included 100, quantity 2150) = 100'}},
               {'kind': 'package',
                'label': 'packages of 1000',
                'tier': None,
                'units': '3',
                'unit_price': '900.00',
                'flat_fee': '0',
                'amount': '2700.00',
                'explanation': {'ru': 'Пакеты по 1000 ед.: ⌈2050 / 1000⌉ = 3 пак. × 900.00 = 2700.00 RUB',
                                'en': 'Packages of 1000: ⌈2050 / 1000⌉ = 3 packages × 900.00 = 2700.00 RUB',
                                'formula': 'ceil(units / package size) × package price = ceil(2050 / 1000) × 900.00 '
                                           '= 2700.00'}}],
     'explanation': {'ru': 'sms: модель package, количество 2150 (включено 100, к оплате 2050), итого 2700.00 RUB',
                     'en': 'sms: package model, quantity 2150 (100 included, 2050 billable), total 2700.00 RUB',
                     'formula': '0.00 + 2700.00 = 2700.00'},
     'usage_explanation': None},
    ('tiered_package', '12500'): {'component': 'emails',
     'model': 'tiered_package',
     'quantity': '12500',
     'billable_quantity': '12500',
     'currency': 'RUB',
     'amount': '1240.00',
     'lines': [{'kind': 'tier',
                'label': 'tier 1 [0, 10000)',
                'tier': 0,
                'units': '10',
                'unit_price': '100.00',
                'flat_fee': '0',
                'amount': '1000.00',
                'explanation': {'ru': 'Ступень 1 [0, 10000): ⌈10000 / 1000⌉ = 10 пак. × 100.00 = 1000.00 RUB',
                                'en': 'Tier 1 [0, 10000): ⌈10000 / 1000⌉ = 10 packages × 100.00 = 1000.00 RUB',
                                'formula': 'tier 1: ceil(units in tier / package size) × package price + flat fee = '
                                           'ceil(10000 / 1000) × 100.00 + 0 = 1000.00'}},
               {'kind': 'tier',
                'label': 'tier 2 [10000, ∞)',
                'tier': 1,
                'units': '3',
                'unit_price': '80.00',
                'flat_fee': '0',
                'amount': '240.00',
                'explanation': {'ru': 'Ступень 2 [10000, ∞): ⌈2500 / 1000⌉ = 3 пак. × 80.00 = 240.00 RUB',
                                'en': 'Tier 2 [10000, ∞): ⌈2500 / 1000⌉ = 3 packages × 80.00 = 240.00 RUB',
                                'formula': 'tier 2: ceil(units in tier / package size) × package price + flat fee = '
                                           'ceil(2500 / 1000) × 80.00 + 0 = 240.00'}}],
     'explanation': {'ru': 'emails: модель tiered_package, количество 12500, итого 1240.00 RUB',
                     'en': 'emails: tiered_package model, quantity 12500, total 1240.00 RUB',
                     'formula': '1000.00 + 240.00 = 1240.00'},
     'usage_explanation': None},
    ('graduated_percentage', '150000'): {'component': 'payouts',
     'model': 'graduated_percentage',
     'quantity': '150000',
     'billable_quantity': '150000',
     'currency': 'RUB',
     'amount': '3250.00',
     'lines': [{'kind': 'tier',
                'label': 'tier 1 [0, 100000)',
                'tier': 0,
                'units': '100000',
                'unit_price': '0.02',
                'flat_fee': '0',
                'amount': '2000.00',
                'explanation': {'ru': 'Ступень 1 [0, 100000): 2% от 100000 = 2000.00 RUB',
                                'en': 'Tier 1 [0, 100000): 2% of 100000 = 2000.00 RUB',
                                'formula': 'tier 1: volume in tier × rate / 100 + flat fee = 100000 × 2 / 100 + 0 = '
                                           '2000.00'}},
               {'kind': 'tier',
                'label': 'tier 2 [100000, ∞)',
                'tier': 1,
                'units': '50000',
                'unit_price': '0.015',
                'flat_fee': '500.00',
                'amount': '1250.00',
                'explanation': {'ru': 'Ступень 2 [100000, ∞): 1.5% от 50000 + фикс. плата 500.00 = 1250.00 RUB',
                                'en': 'Tier 2 [100000, ∞): 1.5% of 50000 + flat fee 500.00 = 1250.00 RUB',
                                'formula': 'tier 2: volume in tier × rate / 100 + flat fee = 50000 × 1.5 / 100 + '
                                           '500.00 = 1250.00'}}],
     'explanation': {'ru': 'payouts: модель graduated_percentage, количество 150000, итого 3250.00 RUB',
                     'en': 'payouts: graduated_percentage model, quantity 150000, total 3250.00 RUB',
                     'formula': '2000.00 + 1250.00 = 3250.00'},
     'usage_explanation': None},
    ('stairstep', '10'): {'component': 'users',
     'model': 'stairstep',
     'quantity': '10',
     'billable_quantity': '10',
     'currency': 'RUB',
     'amount': '1000.00',
     'lines': [{'kind': 'stairstep',
                'label': 'range 1 [0, 10)',
                'tier': 0,
                'units': '1',
                'unit_price': '1000.00',
                'flat_fee': '0',
                'amount': '1000.00',
                'explanation': {'ru': '10 ед. попадает в диапазон 1 [0, 10): фиксированная цена 1000.00 RUB',
                                'en': '10 units fall in range 1 [0, 10): fixed price 1000.00 RUB',
                                'formula': 'price of range 1 = 1000.00 = 1000.00'}}],
     'explanation': {'ru': 'users: модель stairstep, количество 10, итого 1000.00 RUB',
                     'en': 'users: stairstep model, quantity 10, total 1000.00 RUB',
                     'formula': '1000.00 = 1000.00'},
     'usage_explanation': None},
}

MINIMUM = {'component': 'storage',
 'model': 'graduated',
 'quantity': '12',
 'billable_quantity': '2',
 'currency': 'RUB',
 'amount': '100.00',
 'lines': [{'kind': 'included',
            'label': 'included units',
            'tier': None,
            'units': '10',
            'unit_price': '0',
            'flat_fee': '0',
            'amount': '0.00',
            'explanation': {'ru': 'Включено в тариф: 10 из 10 бесплатных ед.',
                            'en': 'Included: 10 of 10 free units used',
                            'formula': 'free units used = min(included 10, quantity 12) = 10'}},
           {'kind': 'tier',
            'label': 'tier 1 [0, 100)',
            'tier': 0,
            'units': '2',
            'unit_price': '5.00',
            'flat_fee': '0',
            'amount': '10.00',
            'explanation': {'ru': 'Ступень 1 [0, 100): 2 ед. × 5.00 = 10.00 RUB',
                            'en': 'Tier 1 [0, 100): 2 units × 5.00 = 10.00 RUB',
                            'formula': 'tier 1: units in tier × unit price + flat fee = 2 × 5.00 + 0 = 10.00'}},
           {'kind': 'minimum',
            'label': 'minimum',
            'tier': None,
            'units': '1',
            'unit_price': '90.00',
            'flat_fee': '0',
            'amount': '90.00',
            'explanation': {'ru': 'Минимальная сумма 100.00 RUB: начислено 10.00 RUB, доплата 90.00 RUB',
                            'en': 'Minimum 100.00 RUB: charges 10.00 RUB, top-up 90.00 RUB',
                            'formula': 'top-up = minimum − charges = 100.00 − 10.00 = 90.00'}}],
 'explanation': {'ru': 'Storage, GB: модель graduated, количество 12 (включено 10, к оплате 2), итого 100.00 RUB',
                 'en': 'Storage, GB: graduated model, quantity 12 (10 included, 2 billable), total 100.00 RUB',
                 'formula': '0.00 + 10.00 + 90.00 = 100.00'},
 'usage_explanation': None}
EVENTS_USAGE = {'ru': 'Агрегация «максимум» свойства «gb»: 150 по 2 событиям, повторов отброшено: 1',
 'en': "Aggregation max of 'gb': 150 over 2 events, 1 duplicate ignored",
 'formula': 'max(gb) = 150'}
METER = {'component': 'water',
 'model': 'standard',
 'quantity': '30',
 'billable_quantity': '30',
 'currency': 'RUB',
 'amount': '1365.00',
 'lines': [{'kind': 'units',
            'label': 'units',
            'tier': None,
            'units': '30',
            'unit_price': '45.50',
            'flat_fee': '0',
            'amount': '1365.00',
            'explanation': {'ru': '30 ед. × 45.50 = 1365.00 RUB',
                            'en': '30 units × 45.50 = 1365.00 RUB',
                            'formula': 'units × unit price = 30 × 45.50 = 1365.00'}}],
 'explanation': {'ru': 'water: модель standard, количество 30, итого 1365.00 RUB',
                 'en': 'water: standard model, quantity 30, total 1365.00 RUB',
                 'formula': '1365.00 = 1365.00'},
 'usage_explanation': {'ru': 'Потребление по счётчику: 30 ед. по 4 показаниям (m1 → m4)',
                       'en': 'Meter consumption: 30 units from 4 readings (m1 → m4)',
                       'formula': 'consumption = Σ segments = 30 (rollover: (100000 − 99990) + 10 = 20; replacement: '
                                  'old meter 15 − 10 = 5; new meter starts at 2; 7 − 2 = 5)'}}
PERCENTAGE = {'component': 'acq',
 'model': 'percentage',
 'quantity': '5023',
 'billable_quantity': '5023',
 'currency': 'RUB',
 'amount': '101.00',
 'lines': [{'kind': 'free',
            'label': 'free transactions',
            'tier': None,
            'units': '2',
            'unit_price': '0',
            'flat_fee': '0',
            'amount': '0.00',
            'explanation': {'ru': 'Бесплатно: 2 транзакции (бесплатных транзакций по тарифу: 1, использовано бесплатной суммы '
                                  '8)',
                            'en': 'Free: 2 transactions (1 free transaction, free amount used 8)',
                            'formula': 'free transactions = 2; free amount used = 8'}},
           {'kind': 'percentage',
            'label': '2.9%',
            'tier': None,
            'units': '5012',
            'unit_price': '0.029',
            'flat_fee': '0',
            'amount': '145.35',
            'explanation': {'ru': '2.9% от 5012 по 3 транзакциям = 145.35 RUB',
                            'en': '2.9% of 5012 over 3 transactions = 145.35 RUB',
                            'formula': 'charged amount × rate / 100 = 5012 × 2.9 / 100 = 145.35'}},
           {'kind': 'transaction_fee',
            'label': 'fixed fee per transaction',
            'tier': None,
            'units': '3',
            'unit_price': '0.30',
            'flat_fee': '0',
            'amount': '0.90',
            'explanation': {'ru': 'Фиксированная комиссия: 3 × 0.30 = 0.90 RUB',
                            'en': 'Fixed fee: 3 transactions × 0.30 = 0.90 RUB',
                            'formula': 'transactions × fixed fee = 3 × 0.30 = 0.90'}},
           {'kind': 'limits',
            'label': 'per-transaction limits',
            'tier': None,
            'units': '2',
            'unit_price': '0',
            'flat_fee': '0',
            'amount': '-45.25',
            'explanation': {'ru': 'Ограничения на транзакцию: поднято до минимума 0.50 — 1 (+0.055), снижено до '
                                  'максимума 100.00 — 1 (−45.3); корректировка -45.25 RUB',
                            'en': 'Per-transaction limits: 1 raised to the minimum 0.50 (+0.055), 1 capped at the '
                                  'maximum 100.00 (−45.3); adjustment -45.25 RUB',
                            'formula': 'adjustment = round(rate part + fees + raises − cuts) − rate line − fee line '
                                       '= round(145.348 + 0.9 + 0.055 − 45.3) − 145.35 − 0.90 = -45.25'}}],
 'explanation': {'ru': 'Acquiring: модель percentage, количество 5023, итого 101.00 RUB',
                 'en': 'Acquiring: percentage model, quantity 5023, total 101.00 RUB',
                 'formula': '0.00 + 145.35 + 0.90 + -45.25 = 101.00'},
 'usage_explanation': None}
PLAN_CHARGE = {'plan': 'vps',
 'currency': 'RUB',
 'amount': '2500.00',
 'components': [{'component': 'base',
                 'kind': 'fixed',
                 'billing': 'in_advance',
                 'amount': '495.00',
                 'explanation': {'ru': 'Пропорционально дням: 990.00 RUB × 15/30 дн. = 495.00 RUB (использовано '
                                       '2026-11-16–2026-11-30 из периода 2026-11-01–2026-11-30)',
                                 'en': 'Prorated by days: 990.00 RUB × 15/30 days = 495.00 RUB (used '
                                       '2026-11-16–2026-11-30 of the period 2026-11-01–2026-11-30)',
                                 'formula': 'amount = round(full price × days used / days in period) = round(990.00 '
                                            '× 15 / 30) = 495.00'},
                 'charge': {'component': 'base',
                            'model': 'standard',
                            'quantity': '1',
                            'billable_quantity': '1',
                            'currency': 'RUB',
                            'amount': '990.00',
                            'lines': [{'kind': 'units',
                                       'label': 'units',
                                       'tier': None,
                                       'units': '1',
                                       'unit_price': '990.00',
                                       'flat_fee': '0',
                                       'amount': '990.00',
                                       'explanation': {'ru': '1 ед. × 990.00 = 990.00 RUB',
                                                       'en': '1 units × 990.00 = 990.00 RUB',
                                                       'formula': 'units × unit price = 1 × 990.00 = 990.00'}}],
                            'explanation': {'ru': 'base: модель standard, количество 1, итого 990.00 RUB',
                                            'en': 'base: standard model, quantity 1, total 990.00 RUB',
                                            'formula': '990.00 = 990.00'},
                            'usage_explanation': None}},
                {'component': 'seats',
                 'kind': 'per_unit',
                 'billing': 'in_advance',
                 'amount': '150.00',
                 'explanation': {'ru': 'Пропорционально дням: 300.00 RUB × 15/30 дн. = 150.00 RUB (использовано '
                                       '2026-11-16–2026-11-30 из периода 2026-11-01–2026-11-30)',
                                 'en': 'Prorated by days: 300.00 RUB × 15/30 days = 150.00 RUB (used '
                                       '2026-11-16–2026-11-30 of the period 2026-11-01–2026-11-30)',
                                 'formula': 'amount = round(full price × days used / days in period) = round(300.00 '
                                            '× 15 / 30) = 150.00'},
                 'charge': {'component': 'seats',
                            'model': 'standard',
                            'quantity': '3',
                            'billable_quantity': '3',
                            'currency': 'RUB',
                            'amount': '300.00',
                            'lines': [{'kind': 'units',
                                       'label': 'units',
                                       'tier': None,
                                       'units': '3',
                                       'unit_price': '100.00',
                                       'flat_fee': '0',
                                       'amount': '300.00',
                                       'explanation': {'ru': '3 ед. × 100.00 = 300.00 RUB',
                                                       'en': '3 units × 100.00 = 300.00 RUB',
                                                       'formula': 'units × unit price = 3 × 100.00 = 300.00'}}],
                            'explanation': {'ru': 'seats: модель standard, количество 3, итого 300.00 RUB',
                                            'en': 'seats: standard model, quantity 3, total 300.00 RUB',
                                            'formula': '300.00 = 300.00'},
                            'usage_explanation': None}},
                {'component': 'traffic',
                 'kind': 'metered',
                 'billing': 'in_arrears',
                 'amount': '100.00',
                 'explanation': {'ru': 'traffic: модель graduated, количество 150, итого 100.00 RUB',
                                 'en': 'traffic: graduated model, quantity 150, total 100.00 RUB',
                                 'formula': '0.00 + 100.00 = 100.00'},
                 'charge': {'component': 'traffic',
                            'model': 'graduated',
                            'quantity': '150',
                            'billable_quantity': '150',
                            'currency': 'RUB',
                            'amount': '100.00',
                            'lines': [{'kind': 'tier',
                                       'label': 'tier 1 [0, 100)',
                                       'tier': 0,
                                       'units': '100',
                                       'unit_price': '0',
                                       'flat_fee': '0',
                                       'amount': '0.00',
                                       'explanation': {'ru': 'Ступень 1 [0, 100): 100 ед. × 0 = 0.00 RUB',
                                                       'en': 'Tier 1 [0, 100): 100 units × 0 = 0.00 RUB',
                                                       'formula': 'tier 1: units in tier × unit price + flat fee = '
                                                                  '100 × 0 + 0 = 0.00'}},
                                      {'kind': 'tier',
                                       'label': 'tier 2 [100, ∞)',
                                       'tier': 1,
                                       'units': '50',
                                       'unit_price': '2.00',
                                       'flat_fee': '0',
                                       'amount': '100.00',
                                       'explanation': {'ru': 'Ступень 2 [100, ∞): 50 ед. × 2.00 = 100.00 RUB',
                                                       'en': 'Tier 2 [100, ∞): 50 units × 2.00 = 100.00 RUB',
                                                       'formula': 'tier 2: units in tier × unit price + flat fee = '
                                                                  '50 × 2.00 + 0 = 100.00'}}],
                            'explanation': {'ru': 'traffic: модель graduated, количество 150, итого 100.00 RUB',
                                            'en': 'traffic: graduated model, quantity 150, total 100.00 RUB',
                                            'formula': '0.00 + 100.00 = 100.00'},
                            'usage_explanation': None}}],
 'extras': [{'kind': 'minimum_commitment',
             'amount': '755.00',
             'explanation': {'ru': 'Минимальный платёж по тарифу 1500.00 RUB: начислено 745.00 RUB, доплата 755.00 '
                                   'RUB',
                             'en': 'Plan minimum commitment 1500.00 RUB: charges 745.00 RUB, top-up 755.00 RUB',
                             'formula': 'top-up = 1500.00 − 745.00 = 755.00'}},
            {'kind': 'setup_fee',
             'amount': '1000.00',
             'explanation': {'ru': 'Разовая плата за подключение: 1000.00 RUB',
                             'en': 'One-time setup fee: 1000.00 RUB',
                             'formula': 'setup fee = 1000.00'}}]}
PLAN_DICT = {'code': 'vps',
 'name': 'VPS',
 'billing_period': {'unit': 'month', 'count': 1},
 'currencies': ['RUB', 'USD'],
 'trial': None,
 'setup_fee': {'RUB': '1000.00'},
 'minimum_commitment': {'RUB': '1500.00'},
 'components': [{'code': 'base',
                 'name': '',
                 'kind': 'fixed',
                 'billing': 'in_advance',
                 'prices': {'RUB': {'model': 'standard',
                                    'aggregation': None,
                                    'included_units': '0',
                                    'minimum': None,
                                    'unit_price': '990.00'},
                            'USD': {'model': 'standard',
                                    'aggregation': None,
                                    'included_units': '0',
                                    'minimum': None,
                                    'unit_price': '12.00'}}},
                {'code': 'seats',
                 'name': '',
                 'kind': 'per_unit',
                 'billing': 'in_advance',
                 'prices': {'RUB': {'model': 'standard',
                                    'aggregation': None,
                                    'included_units': '0',
                                    'minimum': None,
                                    'unit_price': '100.00'},
                            'USD': {'model': 'standard',
                                    'aggregation': None,
                                    'included_units': '0',
                                    'minimum': None,
                                    'unit_price': '1.50'}}},
                {'code': 'traffic',
                 'name': '',
                 'kind': 'metered',
                 'billing': 'in_arrears',
                 'prices': {'RUB': {'model': 'graduated',
                                    'aggregation': None,
                                    'included_units': '0',
                                    'minimum': None,
                                    'tiers': [{'from': '0', 'up_to': '100', 'unit_price': '0', 'flat_fee': '0'},
                                              {'from': '100', 'up_to': None, 'unit_price': '2.00', 'flat_fee': '0'}]},
                            'USD': {'model': 'graduated',
                                    'aggregation': None,
                                    'included_units': '0',
                                    'minimum': None,
                                    'tiers': [{'from': '0', 'up_to': '100', 'unit_price': '0', 'flat_fee': '0'},
                                              {'from': '100',
                                               'up_to': None,
                                               'unit_price': '2.00',
                                               'flat_fee': '0'}]}}}]}

T = dt.datetime


@pytest.mark.parametrize(("model", "quantity"), list(CHARGES))
def test_a_charge_of_each_model_explains_itself(model: str, quantity: str) -> None:
    assert evaluate(ComponentSpec.from_dict(EXAMPLES[model]), quantity, "RUB").as_dict() == CHARGES[(model, quantity)]


def test_a_component_below_its_minimum_is_topped_up_with_its_own_line() -> None:
    assert evaluate(ComponentSpec.from_dict(EXAMPLES["graduated"]), "12", "RUB").as_dict() == MINIMUM


def test_a_component_at_its_minimum_needs_no_top_up() -> None:
    # 20 → 10 billable × 5.00 = 50.00 < 100.00; 30 → 20 × 5.00 = 100.00: exactly the minimum, no line
    spec = ComponentSpec.from_dict(EXAMPLES["graduated"])
    assert [ln.kind.value for ln in evaluate(spec, "30", "RUB").lines] == ["included", "tier"]
    assert evaluate(spec, "30", "RUB").amount.to_str() == "100.00"


def test_events_explain_how_they_were_aggregated() -> None:
    day = dt.UTC
    events = [UsageEvent("e1", T(2027, 1, 1, 6, tzinfo=day), {"gb": "120"}),
              UsageEvent("e2", T(2027, 1, 1, 12, tzinfo=day), {"gb": "150"}),
              UsageEvent("e1", T(2027, 1, 1, 13, tzinfo=day), {"gb": "900"})]  # a repeat: ignored
    usage = Usage.of_events(events, T(2027, 1, 1, tzinfo=day), T(2027, 1, 3, tzinfo=day))
    charge = evaluate(ComponentSpec.from_dict(EXAMPLES["graduated"]), usage, "RUB")
    assert (charge.quantity, charge.amount.to_str()) == (Decimal(150), "710.00")
    assert charge.usage_explanation is not None and charge.usage_explanation.as_dict() == EVENTS_USAGE


def test_a_meter_with_a_rollover_and_a_replacement_explains_each_segment() -> None:
    day = dt.UTC
    spec = ComponentSpec.from_dict({"code": "water", "model": "standard", "unit_price": "45.50",
                                    "aggregation": {"type": "meter_reading", "max_value": "100000"}})
    readings = [MeterReading("m1", T(2027, 1, 1, tzinfo=day), Decimal("99990")),
                MeterReading("m2", T(2027, 1, 2, tzinfo=day), Decimal("10"), "rollover"),  # type: ignore[arg-type]
                MeterReading("m3", T(2027, 1, 3, tzinfo=day), Decimal("2"), "replacement",  # type: ignore[arg-type]
                             Decimal("15")),
                MeterReading("m4", T(2027, 1, 4, tzinfo=day), Decimal("7"))]
    assert evaluate(spec, Usage.of_readings(readings), "RUB").as_dict() == METER


def test_the_percentage_model_explains_free_transactions_fees_and_limits() -> None:
    spec = ComponentSpec.from_dict({
        "code": "acq", "name": "Acquiring", "model": "percentage", "rate": "2.9", "fixed_fee": "0.30",
        "free_transactions": 1, "free_amount": "8", "min_per_transaction": "0.50", "max_per_transaction": "100.00"})
    assert evaluate(spec, Usage.of_transactions(["3", "5", "10", "5", "5000"]), "RUB").as_dict() == PERCENTAGE


@pytest.mark.parametrize(("free", "charged", "ru_free", "ru_rate", "en_free", "en_rate"), [
    (1, 21, "Бесплатно: 1 транзакция", "по 21 транзакции =", "Free: 1 transaction (1 free transaction,",
     "over 21 transactions ="),
    (3, 2, "Бесплатно: 3 транзакции", "по 2 транзакциям =", "Free: 3 transactions (3 free transactions,",
     "over 2 transactions ="),
    (5, 1, "Бесплатно: 5 транзакций", "по 1 транзакции =", "Free: 5 transactions (5 free transactions,",
     "over 1 transaction ="),
])
def test_counted_transactions_agree_with_their_numbers(free: int, charged: int, ru_free: str, ru_rate: str,
                                                       en_free: str, en_rate: str) -> None:
    spec = ComponentSpec.from_dict({"code": "acq", "name": "Acquiring", "model": "percentage", "rate": "2",
                                    "free_transactions": free})
    lines = evaluate(spec, Usage.of_transactions(["10"] * (free + charged)), "RUB").lines
    free_line, rate_line = lines[0].explanation, lines[1].explanation
    assert free_line.ru.startswith(ru_free + " (")
    assert free_line.en.startswith(en_free)
    assert ru_rate in rate_line.ru
    assert en_rate in rate_line.en


def test_a_plan_period_explains_proration_minimum_commitment_and_setup_fee() -> None:
    plan = PlanSpec.from_dict(plan_json())
    # 990 × 15/30 = 495.00, 3 × 100 × 15/30 = 150.00, traffic (150 − 100) × 2.00 = 100.00 (not prorated):
    # 745.00, topped up by 755.00 to the 1500.00 commitment; setup fee 1000.00: 2500.00
    charge = price_plan(plan, "RUB", quantity=3, usage={"traffic": Usage.of_quantity(150)},
                        period=Period(dt.date(2026, 11, 1), dt.date(2026, 12, 1)),
                        used=Period(dt.date(2026, 11, 16), dt.date(2026, 12, 1)), setup_fee=True)
    assert charge.as_dict() == PLAN_CHARGE


def test_a_plan_in_its_json_form() -> None:
    plan = PlanSpec.from_dict(plan_json())
    assert plan.to_dict() == PLAN_DICT
    assert PlanSpec.from_dict(PLAN_DICT) == plan
