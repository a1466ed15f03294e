print("pagedflex")
