"""Money is an integer amount in minor units plus an ISO 4217 currency, validated strictly (DESIGN.md).

Floats (10.5), numeric strings ("10.00"), booleans, zero and negative amounts, and unknown currencies are refused.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StrictInt, field_validator

# ISO 4217 active codes (2024 list), minor units per currency where it is not 2.
ISO_4217: frozenset[str] = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP BYN BZD CAD CDF
    CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ
    GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD
    MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG
    QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS
    UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XAG XAU XBA XBB XBC XBD XCD XDR XOF XPD XPF XPT XSU XTS XUA
    XXX YER ZAR ZMW ZWG""".split()
)

MinorUnits = Annotated[StrictInt, Field(gt=0, le=100_000_000_00, description="Amount in minor units (cents)")]


class Money(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    amount: MinorUnits
    currency: str = Field(
        min_length=3,
        max_length=3,
        description="ISO 4217 code, upper case",
        json_schema_extra={"enum": list[JsonValue](sorted(ISO_4217))},
    )

    @field_validator("currency")
    @classmethod
    def _iso_4217(cls, value: str) -> str:
        if value not in ISO_4217:
            raise ValueError("not an ISO 4217 currency code")
        return value

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} (minor units)"
