import streamlit as st

from nnviz import ui
from nnviz.ui.lessons import lessons

ui.page_setup()

st.title("nnviz: watch neural networks think")
st.markdown(
    "Pick a page on the left. Every view shows the **real activations of a real model** running on "
    "*your* input, computed on this machine, offline."
)
PAGES = [  # lecture order, as in the sidebar
    ("pages/convolution.py", "Convolution playground", "kernels, stride, padding and pooling on a real image, step by step",
     ":material/grid_on:"),
    ("pages/cnn.py", "CNN explorer",
     "feature maps, pooling, filters, residual blocks, predictions of real CNNs and why they chose a class",
     ":material/image:"),
    ("pages/recurrent.py", "RNN & LSTM explorer",
     "cell states and gates on your text, next characters and words, sentiment word by word, forecasts of "
     "real series, and why LSTMs remember", ":material/timeline:"),
    ("pages/attention.py", "Attention explorer",
     "multi-head attention of a pretrained encoder step by step, positions, masked and cross-attention, text classification",
     ":material/hub:"),
]
for path, title, what, icon in PAGES:
    st.page_link(path, label=f"**{title}**: {what}", icon=icon)

st.subheader("The lecture, step by step")
for i, lesson in enumerate(lessons(), 1):
    left, right = st.columns([1.7, 3], vertical_alignment="center")
    left.page_link(lesson.page, label=f"**{i}. {lesson.title}**", query_params=lesson.query, icon=":material/play_arrow:")
    right.markdown(lesson.text)

st.subheader("Models in this copy of nnviz")
st.markdown(ui.models_table())
st.caption("Untrained models run with the same seeded random weights on every machine, and every view says so.")
