package web

import (
	"strconv"
	"strings"

	"github.com/boombuler/barcode/qr"
)

// qrCode is a QR code drawn as one SVG path: Size modules square, plus a
// quiet zone of four on each side in the viewBox. It is drawn on the
// server and inline, so that the page needs neither a script nor an image
// from elsewhere (the Content-Security-Policy allows neither data: URLs
// nor inline code, and an SVG path is neither).
type qrCode struct {
	Size int
	Path string
}

// ViewBox is the SVG viewBox with the quiet zone.
func (q qrCode) ViewBox() string {
	return "-4 -4 " + strconv.Itoa(q.Size+8) + " " + strconv.Itoa(q.Size+8)
}

// newQRCode encodes text (an otpauth:// URI) at error correction level M,
// which authenticator apps read easily from a screen. The package is the
// one that github.com/pquerna/otp draws its images with, so it adds no
// dependency.
func newQRCode(text string) (qrCode, error) {
	code, err := qr.Encode(text, qr.M, qr.Auto)
	if err != nil {
		return qrCode{}, err
	}
	b := code.Bounds()
	var p strings.Builder
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if r, _, _, _ := code.At(x, y).RGBA(); r == 0 { // a dark module
				p.WriteString("M" + strconv.Itoa(x-b.Min.X) + " " + strconv.Itoa(y-b.Min.Y) + "h1v1h-1z")
			}
		}
	}
	return qrCode{Size: b.Dx(), Path: p.String()}, nil
}
