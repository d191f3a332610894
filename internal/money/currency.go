package money

import (
	"fmt"
	"strings"
)

// Currency is an active ISO 4217 alphabetic code such as "EUR".
type Currency string

// iso4217 lists the active ISO 4217 currencies. Codes whose minor unit is
// not 2 are listed in exceptions below; funds and precious-metal codes with
// no minor unit (XAU, XDR, ...) are not currencies an invoice can be in.
const iso4217 = `AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND
BOB BOV BRL BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK
DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF
IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD
LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR
NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE
SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU
UYW UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG`

// minorExceptions holds the ISO 4217 minor units that differ from 2.
var minorExceptions = map[Currency]int32{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
	"PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0,
	"XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
	"CLF": 4, "UYW": 4,
}

var known = func() map[Currency]bool {
	m := map[Currency]bool{}
	for _, c := range strings.Fields(iso4217) {
		m[Currency(c)] = true
	}
	return m
}()

// ParseCurrency returns the currency for an ISO 4217 code. The code must be
// upper case, as the standard writes it.
func ParseCurrency(code string) (Currency, error) {
	c := Currency(code)
	if !known[c] {
		return "", fmt.Errorf("money: %q is not an active ISO 4217 currency code", code)
	}
	return c, nil
}

// Digits is the currency's number of minor-unit digits (EUR 2, JPY 0, KWD 3).
// It is an int32 because it is used as a Decimal scale.
func (c Currency) Digits() int32 {
	if d, ok := minorExceptions[c]; ok {
		return d
	}
	return 2
}

// Valid reports whether c is an active ISO 4217 code.
func (c Currency) Valid() bool { return known[c] }

// Round rounds d to the currency's minor unit, half away from zero.
func (c Currency) Round(d Decimal) Decimal { return d.Round(c.Digits()) }

// Minor rounds d to the currency and returns it in minor units.
func (c Currency) Minor(d Decimal) (int64, bool) {
	return c.Round(d).MinorUnits(c.Digits())
}

// Amount formats minor units of the currency as a decimal string: 119000 EUR
// is "1190.00".
func (c Currency) Amount(minor int64) Decimal { return FromMinor(minor, c.Digits()) }
