// Package data is goray's Dataset, the counterpart of Ray Data: a lazy,
// planned and optimised pipeline over Arrow record batches ("blocks"),
// run by a streaming executor on the core runtime's tasks, actors and
// object refs, as Ray Data runs on Ray Core.
//
//	animals := data.ReadCSV("data/animals.csv")
//	images := animals.Repartition(2).
//		RenameColumns(map[string]string{"animal": "prompt"}).
//		MapBatches(data.ActorPool(NewImageGen, 2), data.BatchSize(8))
//	batch, err := images.TakeBatch(3)
//	err = images.WriteParquet("out/animals_images")
//
// Building a Dataset runs nothing. A consumer (Take, TakeBatch, Count,
// Schema, IterRows, IterBatches, Materialize, ToArrow, Write*) turns the
// logical plan into physical operators (fusing neighbouring maps into one
// operator named A->B, pushing limits, column selections and filters
// towards the read), then streams blocks through them: every operator
// works at once, and an operator is held back while the bytes waiting
// downstream exceed the memory budget (DataContext). Progress, the plan
// and per-operator stats are shown through raylib/display.
//
// Batch functions see a *Batch: named Arrow columns with typed accessors
// (Strings, Int64s, Float64s, Bools, Images, Tensors) and SetColumn.
// Images and tensors are Arrow fixed_shape_tensor columns, which survive
// Parquet and read back in pyarrow.
package data
