/// <reference types="vite/client" />
// Types for Vite's import forms used by browser code (`?url`, `import.meta.env`, asset imports).
