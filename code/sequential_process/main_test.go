package main

import "testing"

func TestProcessImageNegates(t *testing.T) {
	if testing.Short() {
		t.Skip("sleeps a second")
	}
	img := randomImage()
	out := processImage(img)
	for y := range img {
		for x := range img[y] {
			for c := range img[y][x] {
				if out[y][x][c] != 255-img[y][x][c] {
					t.Fatalf("pixel %d,%d,%d: %d -> %d", y, x, c, img[y][x][c], out[y][x][c])
				}
			}
		}
	}
}
