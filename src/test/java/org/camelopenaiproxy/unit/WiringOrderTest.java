package org.camelopenaiproxy.unit;

import java.lang.reflect.Method;
import java.lang.reflect.Parameter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.camel.BeanInject;
import org.apache.camel.BindToRegistry;
import org.camelopenaiproxy.ProxyConfiguration;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Camel binds a configuration class's {@code @BindToRegistry} methods in an order of its own, so a
 * bean may only use beans of the classes before it, or of its own class when it is {@code lazy}
 * (built on first lookup, after its class is bound). Broken, the proxy would start or not
 * depending on the JVM's method order; this names the bean that breaks it.
 */
class WiringOrderTest {

    @Test
    void every_bean_uses_only_beans_bound_before_it() {
        Map<String, Integer> boundBy = new HashMap<>();
        List<Class<?>> classes = ProxyConfiguration.capabilities().stream().<Class<?>>map(Object::getClass).toList();
        for (int i = 0; i < classes.size(); i++) {
            for (Method m : classes.get(i).getDeclaredMethods()) {
                BindToRegistry bind = m.getAnnotation(BindToRegistry.class);
                if (bind != null) {
                    assertEquals(null, boundBy.put(bind.value().isEmpty() ? m.getName() : bind.value(), i),
                            "bound twice: " + m);
                }
            }
        }
        List<String> broken = new ArrayList<>();
        for (int i = 0; i < classes.size(); i++) {
            for (Method m : classes.get(i).getDeclaredMethods()) {
                BindToRegistry bind = m.getAnnotation(BindToRegistry.class);
                if (bind == null) {
                    continue;
                }
                for (Parameter p : m.getParameters()) {
                    BeanInject uses = p.getAnnotation(BeanInject.class);
                    if (uses == null) {
                        continue;
                    }
                    Integer from = boundBy.get(uses.value());
                    boolean ok = from != null && (from < i || (from == i && bind.lazy()));
                    if (!ok) {
                        broken.add(classes.get(i).getSimpleName() + "." + m.getName() + " uses '" + uses.value() + "'"
                                   + (from == null ? ", which no configuration binds"
                                                   : " of " + classes.get(from).getSimpleName()));
                    }
                }
            }
        }
        assertEquals(List.of(), broken);
    }
}
