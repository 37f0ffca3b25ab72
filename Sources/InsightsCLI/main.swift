print("insights")
