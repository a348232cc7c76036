local t = {}
t.t = t
t[t] = t
return { params = t }
