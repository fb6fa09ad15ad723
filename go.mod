module github.com/goray-dev/goray

go 1.26
