return { runbooks = "rb", lib_paths = { "lib", "/abs/lib" }, limits = { cpu = "2s", memory = 1048576 },
         secrets = { TOKEN = "abc123", x = "xyz" }, params = { n = 1, f = 1.5, b = true, s = "str", null = json and json.null } }
