// Accesibilidad de la web: sphinx-togglebutton pone a cada bloque plegado (las soluciones, las celdas ocultas) un
// botón que se abre con el ratón y con el teclado (Tab hasta él, Intro o Espacio), pero con el nombre en inglés
// («Toggle hidden content»), que un lector de pantalla leería así en una página en español.
// Las celdas de código plegadas (etiqueta hide-input) usan un <details> de myst-nb cuyo <summary> lleva
// aria-label="Toggle hidden content": sin él, su nombre es el texto que se ve, en español
// («Mostrar el código de la celda», nb_code_prompt_show en book/_config.yml).
window.addEventListener("load", () => {
  document.querySelectorAll("button.toggle-button").forEach((button) => {
    button.setAttribute("aria-label", "Mostrar u ocultar el contenido plegado");
  });
  document.querySelectorAll("div.cell details.hide > summary[aria-label]").forEach((summary) => {
    summary.removeAttribute("aria-label");
  });
});

// El título del curso y el botón de búsqueda de la barra lateral quedan fuera de toda región (landmark): un lector
// de pantalla que salta de región en región no los encuentra (regla «region» de axe-core). La barra lateral entera
// es la navegación del curso.
const whenReady = (fn) => document.readyState === "loading" ? document.addEventListener("DOMContentLoaded", fn) : fn();
whenReady(() => {
  const sidebar = document.getElementById("pst-primary-sidebar");
  if (sidebar && !sidebar.hasAttribute("role")) {
    sidebar.setAttribute("role", "navigation");
    sidebar.setAttribute("aria-label", "Índice del curso");
  }
});
