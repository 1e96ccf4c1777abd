"""nnviz entry point: navigation over pages/, nothing else."""
import streamlit as st

from nnviz import ui

# A local favicon: a material-icon favicon is fetched from the internet, which a lecture hall may lack.
# Presentation mode (?present=1) opens with the sidebar folded: the projector's width is for the figure.
present = st.query_params.get(ui.PRESENT) in ("1", "true")
st.set_page_config(page_title="nnviz", page_icon="nnviz/assets/favicon.png", layout="wide",
                   initial_sidebar_state="collapsed" if present else "auto")
ui.app_started()

# Lecture order: what a kernel does, then whole CNNs, then sequences, then attention.
pages = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/convolution.py", title="Convolution playground", icon=":material/grid_on:", url_path="convolution"),
    st.Page("pages/cnn.py", title="CNN explorer", icon=":material/image:", url_path="cnn"),
    st.Page("pages/recurrent.py", title="RNN & LSTM explorer", icon=":material/timeline:", url_path="recurrent"),
    st.Page("pages/attention.py", title="Attention explorer", icon=":material/hub:", url_path="attention"),
]
st.navigation(pages).run()
