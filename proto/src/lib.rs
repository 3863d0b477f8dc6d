//! Sans-IO protocol logic shared by every server design in this workspace.
