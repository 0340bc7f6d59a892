def vae_demo(*a, **k): pass
def cvae_demo(*a, **k): pass
