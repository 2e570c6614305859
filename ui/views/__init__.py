"""The app's pages, one script each; `ui/app.py` lists them with `st.navigation`."""
