"""Answering questions and the front ends; imports index, never the reverse."""
