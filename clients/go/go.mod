module trail.example/client/trail

go 1.19
