"""Stibium's Streamlit app: thin pages over `stibium.model`'s public API."""
