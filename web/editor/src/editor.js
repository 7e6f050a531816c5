// The panel's code editor. Every <textarea data-editor="python"> on the page becomes a CodeMirror 6
// editor (Python highlighting, line numbers, basicSetup). The textarea stays in its form, hidden, and
// always holds the editor's text (updated on every change and again on submit), so the form posts
// exactly what it posts without this script; a page that does not load the bundle keeps the plain
// textarea. Python conventions: 4-space indents, Tab indents (Escape then Tab leaves the editor).
// Built by `make` into web/static/editor.js (esbuild, IIFE), never committed.
import { indentWithTab } from "@codemirror/commands";
import { python } from "@codemirror/lang-python";
import { indentUnit } from "@codemirror/language";
import { keymap } from "@codemirror/view";
import { basicSetup, EditorView } from "codemirror";

function attach(textarea) {
  // A page whose Content-Security-Policy allows styles by nonce only gives it here: CodeMirror's
  // <style> elements carry it (EditorView.cspNonce).
  const nonce = textarea.dataset.cspNonce ? [EditorView.cspNonce.of(textarea.dataset.cspNonce)] : [];
  const sync = () => {
    if (textarea.value === view.state.doc.toString()) return;
    textarea.value = view.state.doc.toString();
    textarea.dispatchEvent(new Event("input", { bubbles: true }));  // for scripts watching the field
  };
  const view = new EditorView({
    doc: textarea.value,
    extensions: [basicSetup, python(), indentUnit.of("    "), keymap.of([indentWithTab]), nonce,
      EditorView.updateListener.of((update) => update.docChanged && sync())],
  });
  view.dom.classList.add("code-editor");
  textarea.after(view.dom);
  textarea.hidden = true;
  textarea.form?.addEventListener("submit", sync);
  textarea.dataset.editorAttached = "true";
  textarea.editorView = view;
  return view;
}

/** Attach an editor to every python textarea under *root* that has none yet; returns the new views. */
function attachAll(root = document) {
  const fresh = root.querySelectorAll('textarea[data-editor="python"]:not([data-editor-attached])');
  return Array.from(fresh, attach);
}

window.dasEditor = { attachAll };
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => attachAll());
else attachAll();
