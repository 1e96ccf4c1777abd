"""nnviz entry point: navigation over pages/, nothing else."""
import streamlit as st

st.set_page_config(page_title="nnviz", page_icon=":material/neurology:", layout="wide")

pages = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", url_path="home", default=True),
    st.Page("pages/cnn.py", title="CNN explorer", icon=":material/image:", url_path="cnn"),
]
st.navigation(pages).run()
