"""Search indexes kept beside the store (whoosh): knowledge articles, later resolved cases."""
