package display

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
)

// thumbMax is the longest side of an image thumbnail in a cell: big enough
// to recognise the picture, small enough to keep a notebook light.
const thumbMax = 128

// imageCell makes a thumbnail cell of img; its text gives the original
// size, which is what a terminal shows.
func imageCell(img image.Image) Cell {
	b := img.Bounds()
	text := fmt.Sprintf("image %d×%d", b.Dx(), b.Dy())
	if b.Empty() {
		return Cell{Text: text}
	}
	w, h := b.Dx(), b.Dy()
	if w > thumbMax || h > thumbMax {
		if w >= h {
			w, h = thumbMax, max(1, h*thumbMax/w)
		} else {
			w, h = max(1, w*thumbMax/h), thumbMax
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, scale(img, w, h)); err != nil {
		return Cell{Text: text} // no thumbnail is better than no table
	}
	return Cell{Text: text, Image: &Image{PNG: buf.Bytes(), Width: w, Height: h}}
}

// scale resizes img to w×h by averaging up to 4×4 source samples per
// output pixel: smoother than nearest-neighbour, and bounded in cost
// whatever the source size, without a dependency on x/image.
func scale(img image.Image, w, h int) image.Image {
	src := img.Bounds()
	if src.Dx() == w && src.Dy() == h {
		return img
	}
	// Averaging premultiplied colours (what RGBA returns) keeps transparent
	// pixels from tinting their neighbours.
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	const samples = 4
	for y := range h {
		for x := range w {
			var r, g, bl, a, n uint64
			for sy := range samples {
				py := src.Min.Y + ((y*samples+sy)*src.Dy())/(h*samples)
				for sx := range samples {
					px := src.Min.X + ((x*samples+sx)*src.Dx())/(w*samples)
					cr, cg, cb, ca := img.At(px, py).RGBA()
					r, g, bl, a = r+uint64(cr), g+uint64(cg), bl+uint64(cb), a+uint64(ca)
					n++
				}
			}
			dst.SetRGBA(x, y, color.RGBA{uint8(r / n >> 8), uint8(g / n >> 8), uint8(bl / n >> 8), uint8(a / n >> 8)})
		}
	}
	return dst
}
