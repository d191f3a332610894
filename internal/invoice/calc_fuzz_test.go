package invoice

import (
	"encoding/binary"
	"encoding/json"
	"testing"

	"bursar/internal/errs"
	"bursar/internal/money"
)

// fuzzBytes reads a document's numbers and choices from fuzzed bytes; when
// the bytes run out every further read is zero.
type fuzzBytes struct {
	data  []byte
	texts []money.Decimal // decimals parsed from the fuzzed strings
}

func (f *fuzzBytes) next() byte {
	if len(f.data) == 0 {
		return 0
	}
	b := f.data[0]
	f.data = f.data[1:]
	return b
}

// decimal reads one selector byte: its low 3 bits say how many bytes of
// coefficient follow (0 is zero, 7 picks a fuzzed string), the rest the
// scale, 0 to 12.
func (f *fuzzBytes) decimal() money.Decimal {
	b := f.next()
	n := int(b & 7)
	switch {
	case n == 0:
		return money.Zero
	case n == 7:
		if len(f.texts) == 0 {
			return money.Zero
		}
		return f.texts[int(b>>3)%len(f.texts)]
	}
	var buf [8]byte
	for i := range n {
		buf[8-n+i] = f.next()
	}
	coef := int64(binary.BigEndian.Uint64(buf[:]))
	if b&0x80 != 0 {
		coef = -coef
	}
	return money.New(coef, int32((b>>3)&15)%13)
}

func (f *fuzzBytes) tax() *Tax {
	b := f.next()
	switch {
	case b%4 == 0:
		return nil
	case b%4 == 1:
		// A rate of any size; negative ones (refused) only now and then.
		t := tax("S", "0")
		t.Percentage = f.decimal()
		if b%8 == 1 {
			t.Percentage = t.Percentage.Abs()
		}
		return &t
	}
	t := taxPool[int(b/4)%len(taxPool)]
	return &t
}

func (f *fuzzBytes) document() (Document, money.Decimal) {
	d := Document{Currency: currencyPool[int(f.next())%len(currencyPool)]}
	d.PricesIncludeTax = f.next()%2 == 1
	for range f.next() % 12 {
		l := Line{Quantity: f.decimal(), UnitPrice: f.decimal(), BaseQuantity: f.decimal()}
		s := f.next()
		if s&4 == 0 {
			// Mostly a valid base quantity: a negative one is refused.
			l.BaseQuantity = l.BaseQuantity.Abs()
		}
		switch s % 4 {
		case 1:
			l.DiscountPercent = f.decimal()
		case 2:
			l.DiscountAmount = f.decimal()
		case 3:
			l.DiscountPercent, l.DiscountAmount = f.decimal(), f.decimal()
		}
		for range f.next() % 4 {
			if t := f.tax(); t != nil {
				l.Taxes = append(l.Taxes, *t)
			}
		}
		d.Lines = append(d.Lines, l)
	}
	acs := func() []AllowanceCharge {
		var out []AllowanceCharge
		for range f.next() % 4 {
			a := AllowanceCharge{Reason: "fuzz", Tax: f.tax()}
			if f.next()%2 == 0 {
				a.Amount = f.decimal()
			} else {
				a.Percent = f.decimal()
			}
			out = append(out, a)
		}
		return out
	}
	d.Allowances, d.Charges = acs(), acs()
	return d, f.decimal()
}

// FuzzCalculate builds documents from fuzzed bytes and strings, valid or
// not: Calculate must never panic, must refuse with an Invalid error and an
// untouched document, or succeed with every identity holding.
func FuzzCalculate(f *testing.F) {
	f.Add([]byte{0, 0, 1, 1, 3, 1, 0x11, 83, 0, 1, 0x0a}, "0.83", "20")
	f.Add([]byte{0, 1, 3, 2, 0x05, 0xdc, 0x02, 0x01, 0x1, 0, 2, 2, 9, 13, 0, 2, 1, 0, 2, 0x7, 0, 1, 9}, "-0.005", "9.975")
	f.Add([]byte{1, 1, 5, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x86, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x87, 0, 0, 3, 2, 6, 10}, "999999999999999999999999999.999999999999", "-1")
	f.Add([]byte{2, 0, 2, 0x0f, 0x0f, 0x81, 0x0a, 0, 1, 0x4a, 1, 5, 1, 0x81, 0x10}, "100", "0")
	f.Fuzz(func(t *testing.T, data []byte, a, b string) {
		fb := fuzzBytes{data: data}
		for _, s := range []string{a, b} {
			if v, err := money.Parse(s); err == nil {
				fb.texts = append(fb.texts, v)
			}
		}
		d, paid := fb.document()
		before, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Calculate(paid); err != nil {
			if errs.KindOf(err) != errs.Invalid {
				t.Fatalf("got %v of kind %v, want an Invalid error", err, errs.KindOf(err))
			}
			if after, _ := json.Marshal(d); string(after) != string(before) {
				t.Fatalf("document changed on error %v:\ngot  %s\nwant %s", err, after, before)
			}
			return
		}
		for _, check := range []func(*Document, money.Decimal) error{checkBRCO10, checkBRCO11, checkBRCO12,
			checkBRCO13, checkBRCO14, checkBRCO15, checkBRCO16, checkScale, checkGross, checkExclusiveGroups,
			checkGroupsSorted, checkInclusiveNets} {
			if err := check(&d, paid); err != nil {
				js, _ := json.Marshal(d)
				t.Fatalf("%v\n%s", err, js)
			}
		}
	})
}
