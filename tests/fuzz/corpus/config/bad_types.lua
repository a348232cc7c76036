return { runbooks = 7, params = "p", limits = { cpu = -1 }, secrets = {} }
