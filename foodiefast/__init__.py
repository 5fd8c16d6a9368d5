"""The shared kernel: plumbing every app uses, owning no business rule."""
