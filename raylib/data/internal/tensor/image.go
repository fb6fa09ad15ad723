package tensor

import (
	"errors"
	"fmt"
	"image"
	"image/color"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Image modes, as in PIL.
const (
	ModeRGB  = "RGB"  // HxWx3 uint8; alpha is dropped (straight, not premultiplied, colour)
	ModeRGBA = "RGBA" // HxWx4 uint8, non-premultiplied alpha
	ModeL    = "L"    // HxWx1 uint8 luma, L = 0.299 R + 0.587 G + 0.114 B
)

func channels(mode string) (int, error) {
	switch mode {
	case ModeRGB:
		return 3, nil
	case ModeRGBA:
		return 4, nil
	case ModeL:
		return 1, nil
	}
	return 0, fmt.Errorf("tensor: unknown image mode %q (want %q, %q or %q)", mode, ModeRGB, ModeRGBA, ModeL)
}

func modeOfChannels(c int) string {
	switch c {
	case 1:
		return ModeL
	case 3:
		return ModeRGB
	case 4:
		return ModeRGBA
	}
	return ""
}

// pixels is an 8-bit, non-premultiplied HxWxC image.
type pixels struct {
	w, h, c int
	pix     []byte // len h*w*c, row-major
}

// nativeMode is the mode an image converts to without loss of channels:
// L for grey images, RGB for opaque ones, RGBA otherwise.
func nativeMode(img image.Image) string {
	switch img.(type) {
	case *image.Gray, *image.Gray16:
		return ModeL
	}
	if o, ok := img.(interface{ Opaque() bool }); ok && o.Opaque() {
		return ModeRGB
	}
	return ModeRGBA
}

func luma(r, g, b uint32) byte {
	return byte((19595*r + 38470*g + 7471*b + 1<<15) >> 16)
}

func unpremul(v, a uint32) uint32 {
	if a == 0 {
		return 0
	}
	return (v*255 + a/2) / a
}

// readPixels writes img, converted to c channels (1, 3 or 4), into dst
// (len h*w*c).
func readPixels(dst []byte, img image.Image, c int) {
	b := img.Bounds()
	w := b.Dx()
	put := func(i int, r, g, bl, a uint32) {
		switch c {
		case 1:
			dst[i] = luma(r, g, bl)
		case 3:
			dst[i], dst[i+1], dst[i+2] = byte(r), byte(g), byte(bl)
		case 4:
			dst[i], dst[i+1], dst[i+2], dst[i+3] = byte(r), byte(g), byte(bl), byte(a)
		}
	}
	switch m := img.(type) {
	case *image.Gray:
		for y := 0; y < b.Dy(); y++ {
			row := m.Pix[(y+b.Min.Y-m.Rect.Min.Y)*m.Stride+(b.Min.X-m.Rect.Min.X):]
			if c == 1 {
				copy(dst[y*w:(y+1)*w], row[:w])
				continue
			}
			for x := 0; x < w; x++ {
				v := uint32(row[x])
				put((y*w+x)*c, v, v, v, 255)
			}
		}
	case *image.NRGBA:
		for y := 0; y < b.Dy(); y++ {
			row := m.Pix[(y+b.Min.Y-m.Rect.Min.Y)*m.Stride+(b.Min.X-m.Rect.Min.X)*4:]
			if c == 4 {
				copy(dst[y*w*4:(y+1)*w*4], row[:w*4])
				continue
			}
			for x := 0; x < w; x++ {
				p := row[x*4 : x*4+4]
				put((y*w+x)*c, uint32(p[0]), uint32(p[1]), uint32(p[2]), uint32(p[3]))
			}
		}
	case *image.RGBA:
		for y := 0; y < b.Dy(); y++ {
			row := m.Pix[(y+b.Min.Y-m.Rect.Min.Y)*m.Stride+(b.Min.X-m.Rect.Min.X)*4:]
			for x := 0; x < w; x++ {
				p := row[x*4 : x*4+4]
				r, g, bl, a := uint32(p[0]), uint32(p[1]), uint32(p[2]), uint32(p[3])
				if a != 255 {
					r, g, bl = unpremul(r, a), unpremul(g, a), unpremul(bl, a)
				}
				put((y*w+x)*c, r, g, bl, a)
			}
		}
	case *image.Paletted:
		pal := make([]color.NRGBA, len(m.Palette))
		for i, c := range m.Palette {
			pal[i] = color.NRGBAModel.Convert(c).(color.NRGBA)
		}
		for y := 0; y < b.Dy(); y++ {
			row := m.Pix[(y+b.Min.Y-m.Rect.Min.Y)*m.Stride+(b.Min.X-m.Rect.Min.X):]
			for x := 0; x < w; x++ {
				var p color.NRGBA // out-of-palette indices read as transparent black
				if int(row[x]) < len(pal) {
					p = pal[row[x]]
				}
				put((y*w+x)*c, uint32(p.R), uint32(p.G), uint32(p.B), uint32(p.A))
			}
		}
	case *image.YCbCr:
		for y := 0; y < b.Dy(); y++ {
			for x := 0; x < w; x++ {
				px, py := x+b.Min.X, y+b.Min.Y
				yi, ci := m.YOffset(px, py), m.COffset(px, py)
				if c == 1 {
					dst[y*w+x] = m.Y[yi] // JPEG luma is the L of PIL's convert("L")
					continue
				}
				r, g, bl := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				put((y*w+x)*c, uint32(r), uint32(g), uint32(bl), 255)
			}
		}
	default:
		for y := 0; y < b.Dy(); y++ {
			for x := 0; x < w; x++ {
				p := color.NRGBAModel.Convert(img.At(x+b.Min.X, y+b.Min.Y)).(color.NRGBA)
				put((y*w+x)*c, uint32(p.R), uint32(p.G), uint32(p.B), uint32(p.A))
			}
		}
	}
}

func toPixels(img image.Image, mode string) (*pixels, error) {
	c, err := channels(mode)
	if err != nil {
		return nil, err
	}
	b := img.Bounds()
	p := &pixels{w: b.Dx(), h: b.Dy(), c: c, pix: make([]byte, b.Dx()*b.Dy()*c)}
	readPixels(p.pix, img, c)
	return p, nil
}

// image returns p as an *image.Gray (1 channel), an opaque *image.RGBA
// (3 channels) or an *image.NRGBA (4 channels), copying the pixels.
func (p *pixels) image() image.Image {
	return pixImage(p.pix, p.w, p.h, p.c)
}

func pixImage(pix []byte, w, h, c int) image.Image {
	r := image.Rect(0, 0, w, h)
	switch c {
	case 1:
		img := image.NewGray(r)
		copy(img.Pix, pix)
		return img
	case 3:
		img := image.NewRGBA(r)
		for i := 0; i < w*h; i++ {
			img.Pix[i*4], img.Pix[i*4+1], img.Pix[i*4+2], img.Pix[i*4+3] = pix[i*3], pix[i*3+1], pix[i*3+2], 255
		}
		return img
	default:
		img := image.NewNRGBA(r)
		copy(img.Pix, pix)
		return img
	}
}

// Convert returns img in the given mode ("RGB", "RGBA" or "L") as an
// *image.RGBA (opaque), *image.NRGBA or *image.Gray respectively.
func Convert(img image.Image, mode string) (image.Image, error) {
	p, err := toPixels(img, mode)
	if err != nil {
		return nil, err
	}
	return p.image(), nil
}

// FromImages builds a uint8 tensor column of shape [H,W,C] from images of
// one size, converted to mode: "RGB" (C=3), "RGBA" (C=4) or "L" (C=1). A nil
// image is a null row. It fails when imgs holds no non-nil image (the shape
// would be unknown) or when an image's size differs from the first one's.
// mem may be nil. The caller releases the result.
func FromImages(mem memory.Allocator, imgs []image.Image, mode string) (arrow.Array, error) {
	c, err := channels(mode)
	if err != nil {
		return nil, err
	}
	first := -1
	var size image.Point
	for i, img := range imgs {
		if img == nil {
			continue
		}
		s := img.Bounds().Size()
		if first < 0 {
			first, size = i, s
			continue
		}
		if s != size {
			return nil, fmt.Errorf("tensor: image %d is %dx%d, want %dx%d (the size of image %d)", i, s.X, s.Y, size.X, size.Y, first)
		}
	}
	if first < 0 {
		return nil, errors.New("tensor: no non-nil image, cannot infer the tensor shape")
	}
	typ, err := NewFixedShapeType(arrow.PrimitiveTypes.Uint8, []int{size.Y, size.X, c})
	if err != nil {
		return nil, err
	}
	return buildColumn(mem, typ, len(imgs), 1, func(i int, dst []byte) bool {
		if imgs[i] == nil {
			return false
		}
		readPixels(dst, imgs[i], c)
		return true
	}), nil
}

// ToImages converts a uint8 tensor column of shape [H,W,1|3|4] (in the
// identity layout) into images: *image.Gray, opaque *image.RGBA or
// *image.NRGBA respectively. Null rows give nil images. The pixels are
// copied, so the images outlive arr.
func ToImages(arr arrow.Array) ([]image.Image, error) {
	typ := AsType(arr.DataType())
	if typ == nil {
		return nil, fmt.Errorf("tensor: %s is not a tensor column", arr.DataType())
	}
	shape := typ.shape
	if typ.ValueType().ID() != arrow.UINT8 || len(shape) != 3 || modeOfChannels(shape[2]) == "" {
		return nil, fmt.Errorf("tensor: %s is not an image column (want uint8 elements and shape [H,W,1|3|4])", typ)
	}
	if !typ.identityLayout() {
		return nil, fmt.Errorf("tensor: %s: non-identity permutation is not supported for images", typ)
	}
	fsl, err := listOf(arr)
	if err != nil {
		return nil, err
	}
	vals, err := flatValues[uint8](fsl)
	if err != nil {
		return nil, err
	}
	h, w, c := shape[0], shape[1], shape[2]
	out := make([]image.Image, fsl.Len())
	for i := range out {
		if fsl.IsNull(i) {
			continue
		}
		start, end := fsl.ValueOffsets(i)
		out[i] = pixImage(vals[start:end], w, h, c)
	}
	return out, nil
}
