"""Local AI layer: llama.cpp behind a small engine (the only layer that touches llama_cpp)."""
