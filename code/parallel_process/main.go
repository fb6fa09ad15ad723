// Command parallel_process runs the image filter of sequential_process as
// remote tasks: eight submissions, then one GetAll. With as many CPUs as
// images it takes about a second; in general ceil(8 / CPUs) seconds.
//
// Pass -cpus N to give the runtime N logical CPUs (ray.Init(ray.NumCPUs(N))).
package main

import (
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"time"

	"github.com/goray-dev/goray/raylib/ray"
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
	cpus := flag.Float64("cpus", 0, "logical CPUs for the runtime (0: the machine's)")
	flag.Parse()
	if *cpus > 0 {
		if err := ray.Init(ray.NumCPUs(*cpus)); err != nil {
			log.Fatal(err)
		}
	}
	defer ray.Shutdown()

	process := ray.Remote1(processImage)
	images := make([]Image, 8)
	for i := range images {
		images[i] = randomImage()
	}
	start := time.Now()
	refs := make([]ray.ObjectRef[Image], len(images))
	for i, img := range images {
		refs[i] = process.Remote(img)
	}
	results, err := ray.GetAll(refs)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("Processed %d images in %.2f seconds.\n", len(results), time.Since(start).Seconds())
}
