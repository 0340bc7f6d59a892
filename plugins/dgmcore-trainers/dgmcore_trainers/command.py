def add_demo_command(cli): pass
