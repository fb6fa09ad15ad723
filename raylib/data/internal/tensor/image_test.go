package tensor

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

// testImage is a w x h NRGBA gradient with some transparency.
func testImage(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetNRGBA(x, y, color.NRGBA{R: uint8(x * 255 / max(w-1, 1)), G: uint8(y * 255 / max(h-1, 1)), B: uint8((x + y) * 7), A: uint8(255 - x*3)})
		}
	}
	return img
}

func TestFromImagesToImages(t *testing.T) {
	mem := checkedMem(t)
	src := []image.Image{testImage(5, 4), nil, testImage(5, 4)}
	for _, tc := range []struct {
		mode string
		c    int
		typ  string
	}{{ModeRGB, 3, "*image.RGBA"}, {ModeRGBA, 4, "*image.NRGBA"}, {ModeL, 1, "*image.Gray"}} {
		arr, err := FromImages(mem, src, tc.mode)
		if err != nil {
			t.Fatal(err)
		}
		typ := arr.(*Array).TensorType()
		if s := typ.Shape(); len(s) != 3 || s[0] != 4 || s[1] != 5 || s[2] != tc.c {
			t.Errorf("%s: shape %v", tc.mode, s)
		}
		if !arr.IsNull(1) || arr.NullN() != 1 {
			t.Errorf("%s: nil image is not null", tc.mode)
		}
		// pixel (x=2, y=1) of image 0
		px := Row[uint8](arr, 0)[(1*5+2)*tc.c:]
		want := src[0].(*image.NRGBA).NRGBAAt(2, 1)
		switch tc.mode {
		case ModeRGB:
			if px[0] != want.R || px[1] != want.G || px[2] != want.B {
				t.Errorf("RGB pixel %v, want %v", px[:3], want)
			}
		case ModeRGBA:
			if px[0] != want.R || px[1] != want.G || px[2] != want.B || px[3] != want.A {
				t.Errorf("RGBA pixel %v, want %v", px[:4], want)
			}
		case ModeL:
			l := (299*int(want.R) + 587*int(want.G) + 114*int(want.B) + 500) / 1000
			if d := int(px[0]) - l; d < -1 || d > 1 {
				t.Errorf("L pixel %d, want %d", px[0], l)
			}
		}
		imgs, err := ToImages(arr)
		if err != nil {
			t.Fatal(err)
		}
		if imgs[1] != nil {
			t.Errorf("%s: null row gave an image", tc.mode)
		}
		if got := typeName(imgs[0]); got != tc.typ {
			t.Errorf("%s: ToImages gave %s, want %s", tc.mode, got, tc.typ)
		}
		// round trip: FromImages(ToImages(a)) == a
		again, err := FromImages(mem, imgs, tc.mode)
		if err != nil {
			t.Fatal(err)
		}
		if !equalSlices(Row[uint8](again, 2), Row[uint8](arr, 2)) {
			t.Errorf("%s: round trip differs", tc.mode)
		}
		again.Release()
		arr.Release()
	}
}

func typeName(img image.Image) string {
	switch img.(type) {
	case *image.RGBA:
		return "*image.RGBA"
	case *image.NRGBA:
		return "*image.NRGBA"
	case *image.Gray:
		return "*image.Gray"
	}
	return "other"
}

func TestFromImagesErrors(t *testing.T) {
	_, err := FromImages(nil, []image.Image{testImage(4, 4), testImage(4, 4), testImage(3, 4), testImage(2, 2)}, ModeRGB)
	if err == nil || !strings.Contains(err.Error(), "image 2 is 3x4") {
		t.Errorf("err = %v", err)
	}
	if _, err := FromImages(nil, []image.Image{testImage(4, 4)}, "CMYK"); err == nil {
		t.Error("unknown mode accepted")
	}
	if _, err := FromImages(nil, []image.Image{nil}, ModeL); err == nil {
		t.Error("all-nil images accepted")
	}
	f, _ := FromSlices(nil, []int{2, 2, 2}, [][]uint8{make([]uint8, 8)})
	defer f.Release()
	if _, err := ToImages(f); err == nil || !strings.Contains(err.Error(), "not an image column") {
		t.Errorf("ToImages of a [2,2,2] column: %v", err)
	}
}

func TestImageSourceKinds(t *testing.T) {
	// premultiplied RGBA, sub-images and YCbCr all read as the same pixels
	nrgba := testImage(6, 6)
	rgba := image.NewRGBA(nrgba.Bounds())
	draw.Draw(rgba, rgba.Bounds(), nrgba, image.Point{}, draw.Src)
	sub := nrgba.SubImage(image.Rect(2, 1, 5, 4))
	arr, err := FromImages(nil, []image.Image{sub}, ModeRGBA)
	if err != nil {
		t.Fatal(err)
	}
	defer arr.Release()
	if px, want := Row[uint8](arr, 0)[:4], nrgba.NRGBAAt(2, 1); px[0] != want.R || px[3] != want.A {
		t.Errorf("sub-image pixel %v, want %v", px, want)
	}
	a, _ := Convert(nrgba, ModeRGBA)
	b, _ := Convert(rgba, ModeRGBA)
	pa, pb := a.(*image.NRGBA).Pix, b.(*image.NRGBA).Pix
	for i := range pa {
		if d := int(pa[i]) - int(pb[i]); d < -2 || d > 2 { // premultiplication rounding
			t.Fatalf("RGBA vs NRGBA source differ at %d: %d vs %d", i, pa[i], pb[i])
		}
	}
	var jpg bytes.Buffer
	if err := jpeg.Encode(&jpg, nrgba, &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	ycc, _ := jpeg.Decode(&jpg)
	if _, ok := ycc.(*image.YCbCr); !ok {
		t.Fatalf("jpeg decoded to %T", ycc)
	}
	c, err := Convert(ycc, ModeRGB)
	if err != nil {
		t.Fatal(err)
	}
	got, want := c.(*image.RGBA).RGBAAt(3, 3), nrgba.NRGBAAt(3, 3)
	if absDiff(got.R, want.R) > 8 || absDiff(got.G, want.G) > 8 || got.A != 255 {
		t.Errorf("YCbCr pixel %v, want about %v", got, want)
	}
}

func absDiff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

func TestEncodeDecode(t *testing.T) {
	src := testImage(16, 12)
	var png bytes.Buffer
	if err := Encode(&png, src, "PNG"); err != nil {
		t.Fatal(err)
	}
	if Sniff(png.Bytes()) != FormatPNG {
		t.Fatal("png not sniffed")
	}
	// PNG is lossless
	got, err := Decode(png.Bytes(), ModeRGBA, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.(*image.NRGBA).Pix, src.Pix) {
		t.Error("PNG round trip changed the pixels")
	}
	// mode "" keeps the decoded image
	raw, err := Decode(png.Bytes(), "", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if raw.Bounds() != src.Bounds() {
		t.Errorf("bounds %v", raw.Bounds())
	}
	// L
	g, err := Decode(png.Bytes(), ModeL, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := g.(*image.Gray); !ok {
		t.Errorf("L decode gave %T", g)
	}

	var jpg bytes.Buffer
	if err := Encode(&jpg, src, ".jpg"); err != nil {
		t.Fatal(err)
	}
	if Sniff(jpg.Bytes()) != FormatJPEG {
		t.Fatal("jpeg not sniffed")
	}
	rgb, err := Decode(jpg.Bytes(), ModeRGB, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	// JPEG is lossy and drops alpha; compare the colour of opaque-ish
	// pixels against the premultiplied-free source within a tolerance.
	worst := 0
	for y := 0; y < 12; y++ {
		for x := 0; x < 16; x++ {
			p, q := rgb.(*image.RGBA).RGBAAt(x, y), src.NRGBAAt(x, y)
			// jpeg.Encode sees the colour premultiplied by alpha
			r := int(q.R) * int(q.A) / 255
			worst = max(worst, absDiff(p.R, uint8(r)))
		}
	}
	if worst > 24 {
		t.Errorf("JPEG round trip off by %d", worst)
	}

	if err := Encode(&bytes.Buffer{}, src, "gif"); err == nil {
		t.Error("gif encode accepted")
	}
	if _, err := Decode([]byte("GIF89a...."), "", 0, 0); err == nil || !strings.Contains(err.Error(), "not PNG or JPEG") {
		t.Errorf("gif decode: %v", err)
	}
	if _, err := Decode(png.Bytes()[:40], "", 0, 0); err == nil {
		t.Error("truncated PNG decoded")
	}
	if _, err := Decode(png.Bytes(), "XYZ", 0, 0); err == nil {
		t.Error("bad mode accepted")
	}
}

func TestResize(t *testing.T) {
	// a constant image stays constant at any size
	flat := image.NewNRGBA(image.Rect(0, 0, 7, 5))
	draw.Draw(flat, flat.Bounds(), image.NewUniform(color.NRGBA{10, 200, 30, 255}), image.Point{}, draw.Src)
	for _, sz := range [][2]int{{3, 2}, {14, 10}, {1, 1}, {7, 5}, {20, 3}} {
		r, err := Resize(flat, sz[0], sz[1])
		if err != nil {
			t.Fatal(err)
		}
		rgba := r.(*image.RGBA) // opaque source -> RGB mode
		if rgba.Bounds().Dx() != sz[0] || rgba.Bounds().Dy() != sz[1] {
			t.Fatalf("size %v", rgba.Bounds())
		}
		for i := 0; i < len(rgba.Pix); i += 4 {
			if p := rgba.Pix[i : i+4]; p[0] != 10 || p[1] != 200 || p[2] != 30 || p[3] != 255 {
				t.Fatalf("%v: pixel %v", sz, p)
			}
		}
	}

	// 4x4 -> 2x2 averages 2x2 blocks (triangle filter of support 2)
	g := image.NewGray(image.Rect(0, 0, 4, 4))
	copy(g.Pix, []uint8{
		0, 0, 100, 100,
		0, 0, 100, 100,
		200, 200, 40, 40,
		200, 200, 40, 40,
	})
	r, err := Resize(g, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	got := r.(*image.Gray).Pix
	// per axis, output 0 weighs inputs 0,1,2 by 3/7,3/7,1/7 (triangle of
	// half-width 2 centred on 1.0), output 1 inputs 1,2,3 by 1/7,3/7,3/7.
	wt := [2][4]float64{{3. / 7, 3. / 7, 1. / 7, 0}, {0, 1. / 7, 3. / 7, 3. / 7}}
	want := make([]uint8, 4)
	for oy := range 2 {
		for ox := range 2 {
			v := 0.0
			for y := range 4 {
				for x := range 4 {
					v += wt[oy][y] * wt[ox][x] * float64(g.Pix[y*4+x])
				}
			}
			want[oy*2+ox] = uint8(v + 0.5)
		}
	}
	for i := range want {
		if absDiff(got[i], want[i]) > 1 {
			t.Errorf("downscaled %v, want %v", got, want)
			break
		}
	}

	// 2x1 -> 4x1 upscale interpolates between the two pixels
	two := image.NewGray(image.Rect(0, 0, 2, 1))
	two.Pix[0], two.Pix[1] = 0, 200
	up, _ := Resize(two, 4, 1)
	if p := up.(*image.Gray).Pix; !equalSlices(p, []uint8{0, 50, 150, 200}) {
		t.Errorf("upscaled %v", p)
	}

	// transparent pixels do not bleed colour
	tr := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	tr.SetNRGBA(0, 0, color.NRGBA{255, 0, 0, 0})
	tr.SetNRGBA(1, 0, color.NRGBA{0, 0, 255, 255})
	half, _ := Resize(tr, 1, 1)
	if p := half.(*image.NRGBA).NRGBAAt(0, 0); p.R != 0 || p.B != 255 || absDiff(p.A, 128) > 1 {
		t.Errorf("alpha-weighted pixel %v", p)
	}

	if _, err := Resize(flat, 0, 3); err == nil {
		t.Error("zero width accepted")
	}
	if _, err := Resize(image.NewGray(image.Rect(0, 0, 0, 0)), 3, 3); err == nil {
		t.Error("empty image resized")
	}
}

func TestDecodeResize(t *testing.T) {
	var buf bytes.Buffer
	if err := Encode(&buf, testImage(40, 20), "png"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ w, h, ww, wh int }{
		{10, 10, 10, 10},
		{20, 0, 20, 10}, // height from the aspect ratio
		{0, 5, 10, 5},   // width from the aspect ratio
		{80, 40, 80, 40},
	} {
		img, err := Decode(buf.Bytes(), ModeRGB, tc.w, tc.h)
		if err != nil {
			t.Fatal(err)
		}
		if b := img.Bounds(); b.Dx() != tc.ww || b.Dy() != tc.wh {
			t.Errorf("Decode(%d,%d) is %dx%d, want %dx%d", tc.w, tc.h, b.Dx(), b.Dy(), tc.ww, tc.wh)
		}
	}
	// mode "" with a resize keeps the native mode (RGBA here: not opaque)
	img, err := Decode(buf.Bytes(), "", 8, 4)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := img.(*image.NRGBA); !ok {
		t.Errorf("native-mode resize gave %T", img)
	}
	if _, err := Decode(buf.Bytes(), ModeRGB, -1, 3); err == nil {
		t.Error("negative size accepted")
	}

	// decoded, resized images feed an image column
	a, _ := Decode(buf.Bytes(), ModeL, 8, 8)
	b, _ := Decode(buf.Bytes(), ModeL, 8, 8)
	arr, err := FromImages(nil, []image.Image{a, b}, ModeL)
	if err != nil {
		t.Fatal(err)
	}
	defer arr.Release()
	if typ := arr.(*Array).TensorType(); !arrow.TypeEqual(typ.ValueType(), arrow.PrimitiveTypes.Uint8) || typ.Size() != 64 {
		t.Errorf("type %s", typ)
	}
}

func TestPalettedPNG(t *testing.T) {
	pal := color.Palette{color.NRGBA{255, 0, 0, 255}, color.NRGBA{0, 0, 255, 128}}
	p := image.NewPaletted(image.Rect(0, 0, 3, 2), pal)
	p.SetColorIndex(1, 1, 1)
	var buf bytes.Buffer
	if err := Encode(&buf, p, "png"); err != nil {
		t.Fatal(err)
	}
	img, err := Decode(buf.Bytes(), ModeRGBA, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := img.(*image.NRGBA)
	if got := n.NRGBAAt(0, 0); got != (color.NRGBA{255, 0, 0, 255}) {
		t.Errorf("pixel (0,0) = %v", got)
	}
	if got := n.NRGBAAt(1, 1); got != (color.NRGBA{0, 0, 255, 128}) {
		t.Errorf("pixel (1,1) = %v", got)
	}
}
