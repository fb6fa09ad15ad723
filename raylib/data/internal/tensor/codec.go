package tensor

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"strings"
)

// Image file formats recognised by [Decode] and written by [Encode].
const (
	FormatPNG  = "png"
	FormatJPEG = "jpeg"
)

var (
	pngMagic  = []byte("\x89PNG\r\n\x1a\n")
	jpegMagic = []byte{0xff, 0xd8, 0xff}
)

// Sniff returns the format of an encoded image ("png" or "jpeg") from its
// first bytes, or "" when it is neither.
func Sniff(data []byte) string {
	switch {
	case bytes.HasPrefix(data, pngMagic):
		return FormatPNG
	case bytes.HasPrefix(data, jpegMagic):
		return FormatJPEG
	}
	return ""
}

// Decode decodes a PNG or JPEG image (recognised by content, not by name).
// A non-empty mode ("RGB", "RGBA" or "L") converts it as [Convert] does;
// mode "" keeps the decoded image unless it is resized, in which case it is
// converted to its native mode (L for grey images, RGB for opaque ones,
// RGBA otherwise). width and height > 0 resize it to exactly that size with
// [Resize]; when only one of them is > 0 the other follows the aspect ratio;
// both 0 keep the size.
func Decode(data []byte, mode string, width, height int) (image.Image, error) {
	if width < 0 || height < 0 {
		return nil, fmt.Errorf("tensor: negative image size %dx%d", width, height)
	}
	if mode != "" {
		if _, err := channels(mode); err != nil {
			return nil, err
		}
	}
	var (
		img image.Image
		err error
	)
	switch Sniff(data) {
	case FormatPNG:
		img, err = png.Decode(bytes.NewReader(data))
	case FormatJPEG:
		img, err = jpeg.Decode(bytes.NewReader(data))
	default:
		return nil, errors.New("tensor: unrecognised image data (not PNG or JPEG)")
	}
	if err != nil {
		return nil, fmt.Errorf("tensor: decoding image: %w", err)
	}
	if width == 0 && height == 0 {
		if mode == "" {
			return img, nil
		}
		return Convert(img, mode)
	}
	if mode == "" {
		mode = nativeMode(img)
	}
	b := img.Bounds()
	width, height = targetSize(b.Dx(), b.Dy(), width, height)
	return resizeTo(img, mode, width, height)
}

func resizeTo(img image.Image, mode string, width, height int) (image.Image, error) {
	if b := img.Bounds(); b.Empty() {
		return nil, fmt.Errorf("tensor: cannot resize an empty %dx%d image", b.Dx(), b.Dy())
	}
	p, err := toPixels(img, mode)
	if err != nil {
		return nil, err
	}
	return p.resize(width, height).image(), nil
}

// targetSize fills in a zero width or height from the aspect ratio.
func targetSize(sw, sh, w, h int) (int, int) {
	switch {
	case w > 0 && h == 0:
		h = 1
		if sw > 0 {
			h = max(1, int(math.Round(float64(sh)*float64(w)/float64(sw))))
		}
	case h > 0 && w == 0:
		w = 1
		if sh > 0 {
			w = max(1, int(math.Round(float64(sw)*float64(h)/float64(sh))))
		}
	}
	return w, h
}

// Encode writes img as "png", or as "jpeg" (also "jpg"; quality 90, alpha
// dropped). The format is case-insensitive and may start with a dot.
func Encode(w io.Writer, img image.Image, format string) error {
	if img == nil {
		return errors.New("tensor: encoding a nil image")
	}
	switch strings.ToLower(strings.TrimPrefix(format, ".")) {
	case "png":
		return png.Encode(w, img)
	case "jpeg", "jpg":
		return jpeg.Encode(w, img, &jpeg.Options{Quality: 90})
	}
	return fmt.Errorf("tensor: unknown image format %q (want png, jpeg or jpg)", format)
}

// Resize returns img resized to width x height (both > 0) in its native mode
// (an *image.Gray, opaque *image.RGBA or *image.NRGBA), with a separable
// bilinear (triangle) filter whose support widens when shrinking, as PIL's
// Image.resize(size, BILINEAR) does, so downscaling averages rather than
// aliases. Colour is filtered premultiplied by alpha.
func Resize(img image.Image, width, height int) (image.Image, error) {
	if width <= 0 || height <= 0 {
		return nil, fmt.Errorf("tensor: invalid image size %dx%d", width, height)
	}
	return resizeTo(img, nativeMode(img), width, height)
}

// filter holds, for each output coordinate, the first input coordinate and
// the weights of the input coordinates from there.
type filter struct {
	start   []int
	weights [][]float32
}

func triangle(x float64) float64 {
	x = math.Abs(x)
	if x < 1 {
		return 1 - x
	}
	return 0
}

func newFilter(in, out int) filter {
	scale := float64(in) / float64(out)
	fscale := max(scale, 1)
	support := fscale // the triangle's support is 1
	f := filter{start: make([]int, out), weights: make([][]float32, out)}
	for o := 0; o < out; o++ {
		center := (float64(o) + 0.5) * scale
		lo := max(int(math.Floor(center-support+0.5)), 0)
		hi := min(int(math.Floor(center+support+0.5)), in)
		if hi <= lo { // cannot happen for in, out > 0; keep the nearest pixel
			lo, hi = min(int(center), in-1), min(int(center), in-1)+1
		}
		w := make([]float64, hi-lo)
		sum := 0.0
		for i := range w {
			w[i] = triangle((float64(lo+i) - center + 0.5) / fscale)
			sum += w[i]
		}
		ws := make([]float32, len(w))
		for i := range w {
			if sum > 0 {
				ws[i] = float32(w[i] / sum)
			} else {
				ws[i] = 1 / float32(len(w))
			}
		}
		f.start[o], f.weights[o] = lo, ws
	}
	return f
}

func clamp8(v float32) byte {
	switch {
	case v <= 0:
		return 0
	case v >= 255:
		return 255
	}
	return byte(v + 0.5)
}

// resize returns p resized to w x h (p is left unchanged).
func (p *pixels) resize(w, h int) *pixels {
	if w == p.w && h == p.h {
		return &pixels{w: w, h: h, c: p.c, pix: append([]byte(nil), p.pix...)}
	}
	c := p.c
	src := make([]float32, len(p.pix))
	for i, v := range p.pix {
		src[i] = float32(v)
	}
	if c == 4 { // premultiply so transparent pixels do not bleed colour
		for i := 0; i < len(src); i += 4 {
			a := src[i+3] / 255
			src[i], src[i+1], src[i+2] = src[i]*a, src[i+1]*a, src[i+2]*a
		}
	}
	// horizontal pass: p.h x w
	fx := newFilter(p.w, w)
	tmp := make([]float32, p.h*w*c)
	for y := 0; y < p.h; y++ {
		row := src[y*p.w*c:]
		for x := 0; x < w; x++ {
			o := (y*w + x) * c
			for k, wt := range fx.weights[x] {
				s := (fx.start[x] + k) * c
				for ch := 0; ch < c; ch++ {
					tmp[o+ch] += wt * row[s+ch]
				}
			}
		}
	}
	// vertical pass: h x w
	fy := newFilter(p.h, h)
	dst := make([]float32, h*w*c)
	for y := 0; y < h; y++ {
		out := dst[y*w*c : (y+1)*w*c]
		for k, wt := range fy.weights[y] {
			in := tmp[(fy.start[y]+k)*w*c:]
			for i := range out {
				out[i] += wt * in[i]
			}
		}
	}
	res := &pixels{w: w, h: h, c: c, pix: make([]byte, len(dst))}
	for i := 0; i < len(dst); i += c {
		if c == 4 {
			a := dst[i+3]
			if a > 0 {
				s := 255 / a
				dst[i], dst[i+1], dst[i+2] = dst[i]*s, dst[i+1]*s, dst[i+2]*s
			} else {
				dst[i], dst[i+1], dst[i+2] = 0, 0, 0
			}
		}
		for ch := 0; ch < c; ch++ {
			res.pix[i+ch] = clamp8(dst[i+ch])
		}
	}
	return res
}
