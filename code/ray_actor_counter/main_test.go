package main

// The lab's four lines, exactly.
func Example() {
	main()
	// Output:
	// Initial counts:  [1, 1, 1, 1]
	// Incremented first counter five times:  [2, 3, 4, 5, 6]
	// Get the counts:  [6, 1, 1, 1]
	// Look at the final counts after incrementing each counter once:  [7, 2, 2, 2]
}
