module sqlgate

go 1.26

require (
	github.com/dgryski/go-spooky v0.0.0-20170606183049-ed3d087f40e2
	github.com/go-sql-driver/mysql v1.10.1
)

require filippo.io/edwards25519 v1.2.0 // indirect
