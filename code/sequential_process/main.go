// Command sequential_process filters eight small images one after another:
// each filter takes a second, so the run takes eight. parallel_process runs
// the same filter as remote tasks.
package main

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Image is a 10x10 RGB picture.
type Image [10][10][3]uint8

// processImage pretends to be an expensive filter: it waits a second and
// returns the negative.
func processImage(img Image) Image {
	time.Sleep(time.Second)
	var out Image
	for y := range img {
		for x := range img[y] {
			for c := range img[y][x] {
				out[y][x][c] = 255 - img[y][x][c]
			}
		}
	}
	return out
}

func randomImage() Image {
	var img Image
	for y := range img {
		for x := range img[y] {
			for c := range img[y][x] {
				img[y][x][c] = uint8(rand.IntN(256))
			}
		}
	}
	return img
}

func main() {
	images := make([]Image, 8)
	for i := range images {
		images[i] = randomImage()
	}
	start := time.Now()
	results := make([]Image, 0, len(images))
	for _, img := range images {
		results = append(results, processImage(img))
	}
	fmt.Printf("Processed %d images in %.2f seconds.\n", len(results), time.Since(start).Seconds())
}
